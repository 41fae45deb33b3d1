"""Request bodies (golden files) and fingerprints."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import Manifest, analyze, fingerprint, load, request_body

GOLDEN = Path(__file__).with_name("golden")
ASSETS = Path(__file__).resolve().parents[2] / "manifests" / "assets"
WriteManifest = Callable[..., Path]


def load_golden(name: str, folder: Path) -> Manifest:
    """The golden manifest copied into `folder`, next to the example assets."""
    shutil.copytree(ASSETS, folder / "assets")
    path = folder / f"{name}.yaml"
    shutil.copy(GOLDEN / f"{name}.yaml", path)
    return load(path)


def fake_uploads(manifest: Manifest) -> dict[Path, str]:
    return {
        media.path: f"oss://dashscope-instant/test/{media.path.name}"
        for entry in manifest.entries
        for media in entry.local_media
        if media.path is not None
    }


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.yaml")))
def test_golden_request_bodies(name: str, tmp_path: Path) -> None:
    manifest = load_golden(name, tmp_path)
    [entry] = manifest.entries
    body = request_body(entry, fake_uploads(manifest))
    # "As parsed JSON": what goes over the wire, compared value for value.
    assert json.loads(json.dumps(body)) == json.loads((GOLDEN / f"{name}.json").read_text())


def test_the_reference_example_is_valid_with_the_warnings_it_earns(tmp_path: Path) -> None:
    # The reference's example mixes fields from several capabilities. It is sent as written,
    # and validate says what the rest of the reference says about it.
    shutil.copy(GOLDEN / "reference-create-task.yaml", tmp_path / "r.yaml")
    analysis = analyze(tmp_path / "r.yaml")
    assert analysis.ok
    # Its element_list on the standard model earns nothing: the page sends one there itself.
    assert [d.code for d in analysis.diagnostics] == ["KB215", "KB209"]


def test_a_local_file_must_be_uploaded_first(tmp_path: Path) -> None:
    manifest = load_golden("first-last-frame-local", tmp_path)
    [entry] = manifest.entries
    with pytest.raises(KeyError):
        request_body(entry)
    with pytest.raises(KeyError):
        request_body(entry, {entry.media[0].path: "oss://x/1.png"})  # type: ignore[dict-item]


def test_local_media_are_absolute_paths(tmp_path: Path) -> None:
    manifest = load_golden("first-last-frame-local", tmp_path)
    paths = [m.path for m in manifest.entries[0].media]
    assert paths == [
        (tmp_path / "assets" / "flower-start.png").resolve(),
        (tmp_path / "assets" / "flower-end.png").resolve(),
    ]


# --- fingerprints ------------------------------------------------------------------------------

FRAME = """
version: 1
defaults:
  aspect_ratio: "{ratio}"
shots:
  - id: frame
    prompt: {prompt}
    media:
      - {{type: first_frame, path: start.png}}
"""


@pytest.fixture
def frame_manifest(write_manifest: WriteManifest, tmp_path: Path) -> Callable[..., Manifest]:
    shutil.copy(ASSETS / "flower-start.png", tmp_path / "start.png")

    def make(ratio: str = "16:9", prompt: str = "it moves") -> Manifest:
        return load(write_manifest(FRAME.format(ratio=ratio, prompt=prompt)))

    return make


def test_fingerprint_is_stable(frame_manifest: Callable[..., Manifest]) -> None:
    first, second = frame_manifest(), frame_manifest()
    assert fingerprint(first.entries[0]) == fingerprint(second.entries[0])
    assert len(fingerprint(first.entries[0])) == 64


def test_fingerprint_follows_the_prompt(frame_manifest: Callable[..., Manifest]) -> None:
    before = fingerprint(frame_manifest().entries[0])
    assert fingerprint(frame_manifest(prompt="it stands still").entries[0]) != before


def test_fingerprint_follows_local_file_content(
    frame_manifest: Callable[..., Manifest], tmp_path: Path
) -> None:
    entry = frame_manifest().entries[0]
    before = fingerprint(entry)
    shutil.copy(ASSETS / "flower-end.png", tmp_path / "start.png")  # same name, new picture
    assert fingerprint(entry) != before


def test_fingerprint_ignores_where_the_file_was_uploaded(
    frame_manifest: Callable[..., Manifest],
) -> None:
    entry = frame_manifest().entries[0]
    path = entry.media[0].path
    assert path is not None
    one = request_body(entry, {path: "oss://dashscope-instant/1/start.png"})
    two = request_body(entry, {path: "oss://dashscope-instant/2/start.png"})
    assert one != two
    assert fingerprint(entry) == fingerprint(frame_manifest().entries[0])


def test_an_unused_default_does_not_change_the_fingerprint(
    frame_manifest: Callable[..., Manifest],
) -> None:
    # A first frame decides the shape: changing the defaults' aspect_ratio must not render again.
    assert fingerprint(frame_manifest("16:9").entries[0]) == fingerprint(
        frame_manifest("9:16").entries[0]
    )
