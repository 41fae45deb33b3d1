"""contact-sheet.png: posters in a grid with their ids, groups together, bounded, repeatable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kling_batch.report.contact_sheet import (
    BOX,
    CONTACT_SHEET_FILE,
    GAP,
    HEADER,
    LABEL,
    MARGIN,
    MAX_COLUMNS,
    MAX_ROWS,
    PAD,
    SheetTile,
    place,
    render_contact_sheet,
    sheet_tiles,
    write_contact_sheet,
)
from kling_batch.report.frames import make_posters

from ..delivery.outputs import DONE, FAILED, Review, copy_of

BACKGROUND = (250, 250, 250)
TINT = (226, 232, 244)
PLACEHOLDER = (210, 210, 210)
STEP_X, STEP_Y = BOX + GAP + 2 * PAD, BOX + LABEL + GAP + 2 * PAD


@pytest.fixture
def review(finished: Review, tmp_path: Path) -> Review:
    """A copy of the run's output, posters and all."""
    return copy_of(finished, tmp_path / "copy")


def write(review: Review, manifest: object = None) -> Path:
    with review.store() as store:
        return write_contact_sheet(review.layout, manifest or review.manifest, store)  # type: ignore[arg-type]


def tile_origin(row: int, column: int) -> tuple[int, int]:
    """The top left of a tile's picture box."""
    return MARGIN + column * STEP_X + PAD, MARGIN + HEADER + row * STEP_Y + PAD


def tiles(*groups: tuple[str, int]) -> list[SheetTile]:
    return [
        SheetTile(f"{group}-{n}", group, None, "x") for group, count in groups for n in range(count)
    ]


def test_the_sheet_shows_each_poster_and_a_placeholder_for_what_has_none(review: Review) -> None:
    path = write(review)
    assert path == review.layout.folder / CONTACT_SHEET_FILE
    entries = [*DONE[:4], FAILED]  # manifest order: hero-take1, hero-take2, tower, flower, refused
    with Image.open(path) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (2 * MARGIN + 5 * STEP_X - GAP, 2 * MARGIN + HEADER + STEP_Y - GAP)
        pixels = sheet.convert("RGB")
    for column, entry_id in enumerate(entries):
        left, top = tile_origin(0, column)
        corner = pixels.getpixel((left + 2, top + BOX - 3))
        if entry_id == FAILED:
            assert corner == PLACEHOLDER
            continue
        with Image.open(review.layout.entry_dir(entry_id) / "poster.jpg") as poster:
            middle = poster.convert("RGB").getpixel((poster.width // 2, poster.height // 2))
        shown = pixels.getpixel((left + BOX // 2, top + BOX // 2))
        assert isinstance(middle, tuple) and isinstance(shown, tuple)
        assert max(abs(a - b) for a, b in zip(middle, shown, strict=True)) < 40, entry_id
    # The tower's poster is portrait: dark bars left and right of it, the picture in the middle.
    left, top = tile_origin(0, 2)
    assert pixels.getpixel((left + 5, top + BOX // 2)) == (16, 16, 16)


def test_the_same_run_gives_the_same_bytes(
    review: Review, finished: Review, tmp_path: Path
) -> None:
    first = write(review).read_bytes()
    assert write(review).read_bytes() == first
    elsewhere = copy_of(finished, tmp_path / "elsewhere")
    assert write(elsewhere).read_bytes() == first


def test_a_placeholder_says_why_there_is_no_picture(review: Review) -> None:
    review.video("tower").unlink()
    with review.store() as store:
        posters = make_posters(review.layout, review.manifest, store)
        notes = {t.entry_id: t.note for t in sheet_tiles(review.manifest, store, posters)}
    assert notes["tower"] == "video.mp4 is missing"
    assert notes[FAILED] == "failed: DataInspectionFailed"
    assert notes["hero-take1"] is None


def test_the_takes_of_a_group_stay_together_on_a_tint(review: Review) -> None:
    path = write(review, review.grouped())
    with Image.open(path) as sheet:
        pixels = sheet.convert("RGB")
    # hero-take1 and hero-take2 are columns 0 and 1: the tint runs between them...
    left, top = tile_origin(0, 1)
    assert pixels.getpixel((left - PAD - GAP // 2, top + 20)) == TINT
    # ...but not between hero-take2 and the tower, a group of its own.
    left, top = tile_origin(0, 2)
    assert pixels.getpixel((left - PAD - GAP // 2, top + 20)) == BACKGROUND


def test_a_group_that_does_not_fit_the_rest_of_a_row_starts_the_next() -> None:
    cells = place(tiles(("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 1)), columns=4)
    assert cells == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_single_entries_pack_and_a_group_longer_than_a_row_takes_whole_rows() -> None:
    cells = place(tiles(("a", 1), ("b", 5), ("c", 1), ("d", 1)), columns=3)
    assert cells == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (3, 0), (3, 1)]
    assert place(tiles(("a", 7)), columns=7) == [(0, n) for n in range(7)]


def test_the_sheet_is_bounded_and_counts_what_it_leaves_out() -> None:
    many = tiles(*((f"g{n}", 1) for n in range(1000)))
    sheet = render_contact_sheet("big", many)
    assert sheet.width == 2 * MARGIN + MAX_COLUMNS * STEP_X - GAP
    assert sheet.height == 2 * MARGIN + HEADER + MAX_ROWS * STEP_Y - GAP + LABEL
    small = render_contact_sheet("small", many[: MAX_COLUMNS * MAX_ROWS])
    assert small.height == sheet.height - LABEL  # all shown: no line counting the rest
