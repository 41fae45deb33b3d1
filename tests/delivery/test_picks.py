"""`pick`: the chosen take of a group, recorded beside the manifest, only for a done entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kling_batch
from kling_batch.cli import main
from kling_batch.delivery.picks import (
    PickRefused,
    PicksInvalid,
    clear_pick,
    pick,
    picks_path,
    read_picks,
    write_picks,
)

from .outputs import FAILED, Review, copy_of, run_review


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Review:
    return run_review(tmp_path_factory.mktemp("run"))


@pytest.fixture
def review(finished: Review, tmp_path: Path) -> Review:
    return copy_of(finished, tmp_path / "copy")


def cli(review: Review, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["pick", str(review.manifest.path), *args, "--output", str(review.output)]
    )
    return result.exit_code, result.output


def test_a_pick_is_written_beside_the_manifest_by_group_and_replaced_by_another_take(
    review: Review,
) -> None:
    manifest = review.grouped()
    first = pick(manifest, review.layout, "hero-take1")
    assert (first.group, first.picked, first.previous) == ("hero", "hero-take1", None)
    assert first.path == review.root / "review.picks.yaml"
    pick(manifest, review.layout, "tower")
    second = pick(manifest, review.layout, "hero-take2")
    assert (second.previous, second.picked) == ("hero-take1", "hero-take2")
    assert read_picks(picks_path(manifest)) == {"hero": "hero-take2", "tower": "tower"}
    text = picks_path(manifest).read_text()
    assert text.startswith("# ")  # says what the file is before anything else
    assert text.splitlines()[-3:] == ["picks:", "  hero: hero-take2", "  tower: tower"]
    assert "version: 1" in text
    assert [p.name for p in review.root.iterdir() if p.name.startswith(".")] == []


def test_picking_the_same_take_again_changes_nothing(review: Review) -> None:
    manifest = review.grouped()
    pick(manifest, review.layout, "hero-take1")
    before = picks_path(manifest).stat().st_mtime_ns
    again = pick(manifest, review.layout, "hero-take1")
    assert not again.changed
    assert picks_path(manifest).stat().st_mtime_ns == before


def test_an_entry_that_is_not_done_cannot_be_picked(review: Review) -> None:
    with pytest.raises(PickRefused, match=r"refused.*failed, not done"):
        pick(review.manifest, review.layout, FAILED)
    code, output = cli(review, FAILED)
    assert code == 2
    assert "failed, not done" in output
    assert not picks_path(review.manifest).exists()


def test_an_unknown_entry_is_refused_with_the_close_ids(review: Review) -> None:
    code, output = cli(review, "hero-tak1")
    assert code == 2
    assert "no entry `hero-tak1`" in output
    assert "did you mean hero-take1" in output


def test_a_take_whose_video_was_damaged_cannot_be_picked(review: Review) -> None:
    video = review.video("tower")
    data = bytearray(video.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes
    video.write_bytes(bytes(data))
    with pytest.raises(PickRefused, match="no longer matches its recorded sha256"):
        pick(review.manifest, review.layout, "tower")


def test_a_take_edited_in_the_manifest_since_its_render_cannot_be_picked(
    review: Review,
) -> None:
    path = review.manifest.path
    path.write_text(path.read_text().replace("a lighthouse at dusk", "a lighthouse at dawn"))
    with pytest.raises(PickRefused, match="changed in the manifest"):
        pick(review.reload(), review.layout, "tower")


def test_an_output_that_never_ran_is_named(review: Review, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["pick", str(review.manifest.path), "tower", "--output", str(tmp_path / "none")]
    )
    assert result.exit_code == 2
    assert "holds no run of this manifest" in result.output


def test_the_command_line_records_and_clears_a_pick(review: Review) -> None:
    code, output = cli(review, "tower")
    assert (code, output.split(";")[0]) == (0, "picked tower for group tower")
    assert read_picks(picks_path(review.manifest)) == {"tower": "tower"}
    code, output = cli(review, "--clear", "tower")
    assert (code, output.split(";")[0]) == (0, "cleared the pick of tower")
    assert read_picks(picks_path(review.manifest)) == {}
    code, output = cli(review, "--clear", "tower")  # nothing left to clear: fine
    assert (code, output.split(";")[0]) == (0, "tower had no pick")


def test_clearing_a_group_nobody_knows_is_refused(review: Review) -> None:
    with pytest.raises(PickRefused, match=r"no group `towr`.*did you mean tower"):
        clear_pick(review.manifest, "towr")


def test_a_stale_pick_of_a_group_the_manifest_lost_can_be_cleared(review: Review) -> None:
    write_picks(picks_path(review.manifest), {"gone": "gone-take1"}, "review.yaml")
    change = clear_pick(review.manifest, "gone")
    assert change.previous == "gone-take1"
    assert read_picks(picks_path(review.manifest)) == {}


def test_entry_id_and_clear_are_one_or_the_other(review: Review) -> None:
    assert cli(review)[0] == 2
    assert cli(review, "tower", "--clear", "tower")[0] == 2


@pytest.mark.parametrize("name", ["true", "1e3", "0x10", "null", "007", "a b", "mug:16x9"])
def test_names_that_yaml_would_misread_are_quoted_and_read_back(tmp_path: Path, name: str) -> None:
    path = tmp_path / "m.picks.yaml"
    write_picks(path, {name: name, "plain": "plain-take2"}, "m.yaml")
    assert read_picks(path) == {name: name, "plain": "plain-take2"}
    assert "  plain: plain-take2" in path.read_text()  # the common case stays bare


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("picks:\n  hero: 12\n", r"m.picks.yaml:2:9: error: the pick of `hero` must be an entry"),
        ("picks: [a, b]\n", r"m.picks.yaml:1:8: error: `picks:` is a mapping"),
        ("picks:\n  hero: a\n  hero: b\n", r"m.picks.yaml:3:3: error: `hero` is already set"),
        ("version: 2\npicks: {}\n", r"m.picks.yaml:1: error: this kling-batch reads version 1"),
        ("pciks: {}\n", r"m.picks.yaml:1: error: unknown key `pciks`"),
        ("picks: {hero: [\n", r"m.picks.yaml:2:1: error: invalid YAML"),
    ],
)
def test_a_hand_edited_picks_file_that_is_wrong_is_refused_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "m.picks.yaml"
    path.write_text(text)
    with pytest.raises(PicksInvalid, match=message):
        read_picks(path)


def test_an_empty_picks_file_has_no_picks(tmp_path: Path) -> None:
    path = tmp_path / "m.picks.yaml"
    path.write_text("# nothing picked yet\n")
    assert read_picks(path) == {}
    assert read_picks(tmp_path / "absent.picks.yaml") == {}


def test_the_library_and_the_json_say_the_same(review: Review) -> None:
    change = kling_batch.pick(review.manifest.path, "tower", output=review.output)
    assert (change.group, change.picked, change.changed) == ("tower", "tower", True)

    code, output = cli(review, "hero-take1", "--json")
    assert code == 0
    assert json.loads(output) == {
        "picks_file": str(review.root / "review.picks.yaml"),
        "group": "hero-take1",  # no takes in the manifest as loaded: a group of its own
        "picked": "hero-take1",
        "previous": None,
        "changed": True,
    }
    cleared = kling_batch.pick(review.manifest.path, clear="tower")
    assert (cleared.picked, cleared.previous) == (None, "tower")
    with pytest.raises(kling_batch.PickRefused, match="cannot be picked"):
        kling_batch.pick(review.manifest.path, FAILED, output=review.output)
    code, output = cli(review, FAILED, "--json")
    assert code == 2 and "cannot be picked" in output
