"""`export`: done videos copied out verified, named by a template, described in the sheets."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kling_batch
from kling_batch.cli import main
from kling_batch.delivery.export import ExportRefused, export
from kling_batch.delivery.picks import pick
from kling_batch.delivery.sheet import COLUMNS
from kling_batch.hashing import sha256_file

from .outputs import DONE, FAILED, Review, copy_of, run_review


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Review:
    return run_review(tmp_path_factory.mktemp("run"))


@pytest.fixture
def review(finished: Review, tmp_path: Path) -> Review:
    return copy_of(finished, tmp_path / "copy")


def results(review: Review) -> dict[str, dict[str, object]]:
    lines = review.layout.results.read_text().splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def cli(review: Review, to: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        [
            "export",
            str(review.manifest.path),
            "--to",
            str(to),
            "--output",
            str(review.output),
            *args,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_every_done_video_is_copied_with_its_recorded_bytes_and_described(
    review: Review, tmp_path: Path
) -> None:
    to = tmp_path / "handoff"
    result = export(review.manifest, review.layout, to)
    assert [item.entry_id for item in result.delivered] == list(DONE)
    assert all(item.copied for item in result.delivered)
    recorded = results(review)
    for entry_id in DONE:
        assert sha256_file(to / f"{entry_id}.mp4") == recorded[entry_id]["sha256"]
    assert sorted(p.name for p in to.iterdir()) == sorted(
        [f"{e}.mp4" for e in DONE] + ["delivery.csv", "delivery.json"]
    )
    assert any(FAILED in warning and "failed, not done" in warning for warning in result.warnings)
    assert any("SIMULATED" in warning for warning in result.warnings)

    rows = json.loads((to / "delivery.json").read_text())
    with (to / "delivery.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [row["id"] for row in table] == list(DONE)
    assert list(table[0]) == list(COLUMNS) == list(rows[0])
    tower = next(row for row in rows if row["id"] == "tower")
    assert tower["file"] == "tower.mp4"
    assert tower["bytes"] == (to / "tower.mp4").stat().st_size
    assert tower["sha256"] == recorded["tower"]["sha256"]
    assert (tower["duration"], tower["size"], tower["aspect_ratio"]) == (3, "720x1280", "9:16")
    assert tower["prompt"] == "a lighthouse at dusk"
    assert tower["task_id"] == recorded["tower"]["task_id"]
    assert tower["billed_seconds"] == recorded["tower"]["billed_seconds"] == 3
    # One price function: the sheet's cost is the one results.jsonl holds.
    assert tower["cost"] == recorded["tower"]["cost"]
    assert tower["currency"] == recorded["tower"]["currency"]
    assert (tower["group"], tower["take"]) == ("tower", None)
    assert next(row for row in table if row["id"] == "tower")["take"] == ""


def test_exporting_again_is_harmless_and_copies_nothing(review: Review, tmp_path: Path) -> None:
    to = tmp_path / "handoff"
    export(review.manifest, review.layout, to)
    again = export(review.manifest, review.layout, to)
    assert [item.copied for item in again.delivered] == [False] * len(DONE)
    code, stdout, stderr = cli(review, to)
    assert code == 0
    assert f"{len(DONE)} videos in {to} ({len(DONE)} already there)" in stderr
    assert stdout.splitlines() == [str(to / f"{e}.mp4") for e in DONE]


def test_a_file_in_the_way_with_other_bytes_is_refused_unless_forced(
    review: Review, tmp_path: Path
) -> None:
    to = tmp_path / "handoff"
    to.mkdir()
    (to / "tower.mp4").write_bytes(b"someone else's cut")
    with pytest.raises(ExportRefused, match=r"already has other files.*tower\.mp4.*--force"):
        export(review.manifest, review.layout, to)
    # Refused before anything was copied.
    assert sorted(p.name for p in to.iterdir()) == ["tower.mp4"]
    assert cli(review, to)[0] == 2
    code, _, _ = cli(review, to, "--force")
    assert code == 0
    assert sha256_file(to / "tower.mp4") == sha256_file(review.video("tower"))


def test_a_source_video_changed_since_its_download_is_not_delivered(
    review: Review, tmp_path: Path
) -> None:
    video = review.video("hero-take2")
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size: only the sha256 can tell
    video.write_bytes(bytes(data))
    to = tmp_path / "handoff"
    result = export(review.manifest, review.layout, to)
    assert [f.entry_id for f in result.failures] == ["hero-take2"]
    assert "not the render the state store recorded" in result.failures[0].reason
    assert not (to / "hero-take2.mp4").exists()
    assert [p.name for p in to.iterdir() if p.name.startswith(".")] == []  # no temporary left
    delivered = [row["id"] for row in json.loads((to / "delivery.json").read_text())]
    assert delivered == [e for e in DONE if e != "hero-take2"]
    code, _, stderr = cli(review, tmp_path / "again")
    assert code == 1
    assert "error: hero-take2: " in stderr


# The copy, run in a child process whose files may not grow past 4 KiB: the first write past
# that either kills it (SIGXFSZ, as a crash or a kill would cut it) or fails (a full disk).
CUT_SHORT = """
import resource, signal, sys
from pathlib import Path
from kling_batch.delivery.export import copy_verified
from kling_batch.delivery.videos import DoneVideo
if sys.argv[1] == "killed":  # Python ignores SIGXFSZ, so that such a write fails instead
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
video = DoneVideo("hero-take1", Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
print(copy_verified(video, Path(sys.argv[5])))
"""


@pytest.mark.parametrize("how", ["killed", "fail"])
def test_a_copy_cut_short_leaves_no_file_under_its_final_name(
    review: Review, tmp_path: Path, how: str
) -> None:
    to = tmp_path / "handoff"
    to.mkdir()
    source = review.video("hero-take1")
    size = source.stat().st_size
    assert size > 4096
    arguments = [how, str(source), str(size), sha256_file(source), str(to / "hero-take1.mp4")]
    cut = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, *arguments],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert not (to / "hero-take1.mp4").exists()
    if how == "killed":
        assert cut.returncode == -signal.SIGXFSZ, cut.stderr
        # What was written sits under a hidden temporary name, never under the final one.
        assert [(p.name, p.stat().st_size) for p in to.iterdir()] == [
            (".hero-take1.mp4.part", 4096)
        ]
    else:
        assert cut.returncode == 0, cut.stderr
        assert "cannot copy" in cut.stdout and "File too large" in cut.stdout
        assert list(to.iterdir()) == []

    # The next export replaces what the cut left, and leaves nothing else behind.
    result = export(review.manifest, review.layout, to)
    assert result.failures == ()
    assert sorted(p.name for p in to.iterdir()) == sorted(
        [f"{e}.mp4" for e in DONE] + ["delivery.csv", "delivery.json"]
    )
    assert sha256_file(to / "hero-take1.mp4") == sha256_file(source)


def test_picked_delivers_each_groups_pick_and_names_the_groups_without_one(
    review: Review, tmp_path: Path
) -> None:
    manifest = review.grouped()
    pick(manifest, review.layout, "hero-take2")
    pick(manifest, review.layout, "tower")
    to = tmp_path / "handoff"
    result = export(manifest, review.layout, to, picked=True, name_template="{group}.mp4")
    assert [item.entry_id for item in result.delivered] == ["hero-take2", "tower"]
    assert sorted(p.name for p in to.glob("*.mp4")) == ["hero.mp4", "tower.mp4"]
    assert sha256_file(to / "hero.mp4") == sha256_file(review.video("hero-take2"))
    unpicked = [w for w in result.warnings if "without a pick" in w]
    assert unpicked == [
        "left out, 2 group(s) without a pick: flower, refused (kling-batch pick MANIFEST ENTRY_ID)"
    ]
    row = json.loads((to / "delivery.json").read_text())[0]
    assert (row["id"], row["group"], row["take"], row["file"]) == (
        "hero-take2",
        "hero",
        2,
        "hero.mp4",
    )


def test_picked_without_any_pick_delivers_nothing(review: Review, tmp_path: Path) -> None:
    to = tmp_path / "handoff"
    with pytest.raises(ExportRefused, match=r"nothing to export.*no group has a done pick"):
        export(review.grouped(), review.layout, to, picked=True)
    assert not to.exists()
    code, _, stderr = cli(review, to, "--picked")
    assert code == 2
    assert "without a pick: hero-take1, hero-take2, tower, flower, refused" in stderr


def test_a_pick_the_manifest_no_longer_has_is_named(review: Review, tmp_path: Path) -> None:
    manifest = review.grouped()
    pick(manifest, review.layout, "tower")
    picks = review.root / "review.picks.yaml"
    picks.write_text(picks.read_text() + "  gone: gone-take1\n  hero: tower\n")
    result = export(manifest, review.layout, tmp_path / "handoff", picked=True)
    assert [item.entry_id for item in result.delivered] == ["tower"]
    assert any("no longer has: gone" in w for w in result.warnings)
    assert any(
        "the pick of group hero, `tower`, is not one of its entries" in w for w in result.warnings
    )


def test_names_come_from_the_template_fields(review: Review, tmp_path: Path) -> None:
    to = tmp_path / "handoff"
    template = "{group}-{take}-{model}-{mode}-{aspect_ratio}-{duration}s.mp4"
    export(review.grouped(), review.layout, to, name_template=template)
    assert sorted(p.name for p in to.glob("*.mp4")) == [
        "flower--standard-std-16x9-3s.mp4",
        "hero-1-standard-std-16x9-3s.mp4",
        "hero-2-standard-std-16x9-3s.mp4",
        "tower--standard-std-9x16-3s.mp4",
    ]


def test_an_unknown_name_field_is_refused_naming_the_valid_ones(
    review: Review, tmp_path: Path
) -> None:
    to = tmp_path / "handoff"
    code, _, stderr = cli(review, to, "--name", "{id}-{ratio}.mp4")
    assert code == 2
    assert "unknown field {ratio}" in stderr
    assert "{id}, {group}, {take}, {model}, {mode}, {aspect_ratio}, {duration}" in stderr
    assert not to.exists()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{group}.mp4", r"one file name: hero-take1 \(hero.mp4\), hero-take2 \(hero.mp4\)"),
        ("{mode}.mp4", "several videos one file name"),
        ("{id}/{take}.mp4", "holds /"),
        (".{id}.mp4", "may not be empty or start with ."),
        ("{}.mp4", "unknown field {}"),
        ("{id!r}.mp4", "without !r"),
        ("{id.upper}.mp4", r"unknown field \{id.upper\}"),
        ("{take:03d}.mp4", "cannot name `tower`"),
        ("{id", "expected '}'"),
    ],
)
def test_names_that_cannot_be_files_or_collide_are_refused_before_any_copy(
    review: Review, tmp_path: Path, template: str, message: str
) -> None:
    to = tmp_path / "handoff"
    with pytest.raises(ExportRefused, match=message):
        export(review.grouped(), review.layout, to, name_template=template)
    assert not to.exists()


def test_a_video_may_not_take_a_sheets_name(review: Review, tmp_path: Path) -> None:
    pick(review.manifest, review.layout, "tower")
    with pytest.raises(ExportRefused, match="delivery sheet's name"):
        export(review.manifest, review.layout, tmp_path, picked=True, name_template="delivery.csv")


def test_names_differing_only_in_case_collide(review: Review, tmp_path: Path) -> None:
    takes = {"hero-take1": ("Mug", 1), "hero-take2": ("mug", 1)}
    with pytest.raises(ExportRefused, match="one file name"):
        export(review.grouped(takes), review.layout, tmp_path / "to", name_template="{group}.mp4")


def test_an_entry_edited_since_its_render_is_left_out(review: Review, tmp_path: Path) -> None:
    path = review.manifest.path
    path.write_text(path.read_text().replace("a lighthouse at dusk", "a lighthouse at dawn"))
    result = export(review.reload(), review.layout, tmp_path / "handoff")
    assert "tower" not in [item.entry_id for item in result.delivered]
    assert any("tower: changed in the manifest since its render" in w for w in result.warnings)


def test_an_output_that_never_ran_is_refused(review: Review, tmp_path: Path) -> None:
    nowhere = tmp_path / "nothing"
    arguments = [str(review.manifest.path), "--to", str(tmp_path / "to"), "--output", str(nowhere)]
    result = CliRunner().invoke(main, ["export", *arguments])
    assert result.exit_code == 2
    assert "holds no run of review.yaml" in result.output


def test_the_library_and_the_json_say_what_was_delivered(review: Review, tmp_path: Path) -> None:
    to = tmp_path / "handoff"
    kling_batch.pick(review.manifest.path, "tower", output=review.output)
    result = kling_batch.export(review.manifest.path, to=to, output=review.output, picked=True)
    assert [item.entry_id for item in result.delivered] == ["tower"]

    code, stdout, stderr = cli(review, to, "--picked", "--json")
    assert code == 0
    document = json.loads(stdout)
    assert document["delivered"] == [
        {"id": "tower", "file": str(to / "tower.mp4"), "copied": False}  # already there
    ]
    assert document["failures"] == []
    assert document["sheets"] == {
        "csv": str(to / "delivery.csv"),
        "json": str(to / "delivery.json"),
    }
    assert any("without a pick" in warning for warning in document["warnings"])
    assert "without a pick" in stderr  # and in sight of a person
    with pytest.raises(kling_batch.ExportRefused, match="unknown field"):
        kling_batch.export(review.manifest.path, to=to, output=review.output, name="{nope}.mp4")
