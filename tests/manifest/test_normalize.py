"""From YAML to typed entries: defaults, aliases, derived durations, paths, positions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import (
    OMNI_MODEL,
    STANDARD_MODEL,
    EntryKind,
    Media,
    MediaType,
    StoryboardShot,
    load,
)

WriteManifest = Callable[..., Path]


@pytest.mark.parametrize(
    ("written", "model"),
    [
        ("standard", STANDARD_MODEL),
        ("omni", OMNI_MODEL),
        (STANDARD_MODEL, STANDARD_MODEL),
        (OMNI_MODEL, OMNI_MODEL),
        (None, STANDARD_MODEL),
    ],
)
def test_model_aliases(write_manifest: WriteManifest, written: str | None, model: str) -> None:
    line = f"    model: {written}\n" if written else ""
    path = write_manifest(
        f"version: 1\nshots:\n  - id: a\n    prompt: x\n    aspect_ratio: '1:1'\n{line}"
    )
    assert load(path).entries[0].model == model


def test_defaults_go_under_entries_and_entries_win(write_manifest: WriteManifest) -> None:
    manifest = load(
        write_manifest("""
            version: 1
            defaults:
              model: omni
              mode: std
              aspect_ratio: "16:9"
              duration: 5
              audio: true
              watermark: false
              media: [{type: refer, url: "https://example.com/a.jpg"}]
              prompt: <<<image_1>>> waves
            shots:
              - id: plain
              - id: own
                mode: pro
                duration: 8
                prompt: <<<image_1>>> jumps
                media: [{type: refer, url: "https://example.com/b.jpg"}]
        """)
    )
    plain, own = manifest.entries
    assert (plain.model, plain.mode, plain.duration, plain.audio) == (OMNI_MODEL, "std", 5, True)
    assert (plain.prompt, plain.media[0].url) == (
        "<<<image_1>>> waves",
        "https://example.com/a.jpg",
    )
    assert (own.mode, own.duration, own.prompt) == ("pro", 8, "<<<image_1>>> jumps")
    assert own.media == (Media(MediaType.REFER, url="https://example.com/b.jpg"),)  # replaced
    assert plain.watermark is False


def test_defaults_skip_entries_they_mean_nothing_for(write_manifest: WriteManifest) -> None:
    manifest = load(
        write_manifest("""
            version: 1
            defaults:
              aspect_ratio: "16:9"
              audio: true
              prompt: everyone gets this
              shot_type: customize
            shots:
              - id: text
              - id: frame
                media: [{type: first_frame, url: "https://example.com/a.jpg"}]
              - id: edit
                model: omni
                media: [{type: base, url: "https://example.com/a.mp4"}]
            storyboards:
              - id: board
                multi_prompt: [{prompt: one, duration: 3}]
        """)
    )
    text, frame, edit, board = manifest.entries
    assert (text.aspect_ratio, text.audio, text.prompt) == ("16:9", True, "everyone gets this")
    assert (frame.aspect_ratio, frame.audio) == (None, True)
    assert (edit.aspect_ratio, edit.audio, edit.prompt) == (None, None, "everyone gets this")
    assert (board.shot_type, board.prompt, board.aspect_ratio) == ("customize", None, "16:9")
    assert (text.shot_type, text.multi_prompt) == (None, ())


@pytest.mark.parametrize(
    ("storyboard", "defaults", "duration", "shots"),
    [
        ("multi_prompt: [{prompt: a, duration: 4}, {prompt: b, duration: 4}]", "", 8, (4, 4)),
        (
            "multi_prompt: [{prompt: a, duration: 4}, {prompt: b, duration: 4}]",
            "duration: 3",
            8,
            (4, 4),
        ),
        (
            "duration: 9\n    multi_prompt: [{prompt: a}, {prompt: b}, {prompt: c}]",
            "",
            9,
            (3, 3, 3),
        ),
        (
            "duration: 10\n    multi_prompt: [{prompt: a}, {prompt: b}, {prompt: c}]",
            "",
            10,
            (4, 3, 3),
        ),
        ("multi_prompt: [{prompt: a}, {prompt: b, duration: 3}]", "duration: 7", 7, (4, 3)),
        ("multi_prompt: [{prompt: a}, {prompt: b}]", "", 5, (3, 2)),  # the service's default
    ],
)
def test_storyboard_durations_are_derived(
    write_manifest: WriteManifest,
    storyboard: str,
    defaults: str,
    duration: int,
    shots: tuple[int, ...],
) -> None:
    manifest = load(
        write_manifest(
            f"version: 1\ndefaults: {{{defaults}}}\nstoryboards:\n  - id: s\n"
            f"    shot_type: customize\n    aspect_ratio: '1:1'\n    {storyboard}\n"
        )
    )
    [entry] = manifest.entries
    assert entry.kind is EntryKind.STORYBOARD
    assert entry.duration == duration
    assert tuple(shot.duration for shot in entry.multi_prompt) == shots


def test_fields_are_typed(write_manifest: WriteManifest) -> None:
    manifest = load(
        write_manifest("""
            version: 1
            name: typed
            budget: 12
            shots:
              - id: edit
                model: omni
                prompt: <<<element_1>>> in <<<video_1>>>
                duration: 5.0
                element_list: [3, {element_id: 4}]
                media:
                  - {type: feature, url: "https://example.com/a.mp4", keep_original_sound: false}
                aspect_ratio: "9:16"
            storyboards:
              - id: board
                shot_type: customize
                aspect_ratio: "9:16"
                multi_prompt: [{prompt: only, duration: 3}]
        """)
    )
    assert (manifest.name, manifest.budget) == ("typed", 12.0)
    assert isinstance(manifest.budget, float)
    edit, board = manifest.entries
    assert edit.duration == 5
    assert isinstance(edit.duration, int)
    assert edit.element_ids == (3, 4)
    assert edit.media[0].keep_original_sound is False
    assert board.multi_prompt == (StoryboardShot("only", 3),)
    assert manifest.entry("board") is board


def test_name_defaults_to_the_file_stem(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\nshots: []\n", "spring-launch.yaml")
    assert load(path).name == "spring-launch"
    assert load(path).path == path.absolute()


def test_paths_resolve_against_the_manifest(write_manifest: WriteManifest, tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "sub").mkdir()
    Image.new("RGB", (640, 360)).save(tmp_path / "start.png")
    path = write_manifest(
        """
        version: 1
        shots:
          - id: a
            prompt: x
            media: [{type: first_frame, path: ../start.png}]
        """,
        "sub/m.yaml",
    )
    [entry] = load(path).entries
    assert entry.media[0].path == (tmp_path / "start.png").resolve()
    assert entry.local_media == entry.media


def test_entry_position_points_at_its_id(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\nshots:\n  - prompt: x\n    aspect_ratio: '1:1'\n    id: a\n")
    [entry] = load(path).entries
    assert entry.position is not None
    assert (entry.position.file, entry.position.line, entry.position.column) == (path, 5, 9)
