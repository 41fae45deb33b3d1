"""contact-sheet.png: every entry's poster frame in a grid, its id under it (spec §8).

For a quick look or a chat message: one PNG in the output folder, at most MAX_COLUMNS wide and
MAX_ROWS tall (what does not fit is counted in a last line), the same bytes for the same
posters. The takes of a group stay together: a group that does not fit in what is left of a
row starts the next one, and a tint behind it shows where it begins and ends. An entry without
a picture (not done, or a video whose frame could not be read) gets a placeholder that says why.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from kling_batch.delivery.groups import grouped
from kling_batch.manifest.model import Manifest
from kling_batch.report.frames import FrameFailure, Poster, make_posters
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore

CONTACT_SHEET_FILE = "contact-sheet.png"
MAX_COLUMNS = 6
MAX_ROWS = 40  # 40 rows of 6: 240 entries in about 1.5 x 11 kpx; the report has the rest
BOX = 200  # a poster is fitted into a BOX x BOX square
LABEL = 22  # the id line under it
GAP = 10
PAD = 6  # the group tint around its tiles
MARGIN = 20
HEADER = 34
_BACKGROUND = (250, 250, 250)
_INK = (30, 30, 30)
_FAINT = (110, 110, 110)
_TINT = (226, 232, 244)
_PICTURE_GROUND = (16, 16, 16)
_PLACEHOLDER = (210, 210, 210)
_DIGEST_CHUNK = "kling-batch-sheet"
_DIGEST_RECIPE = f"v1 {MAX_COLUMNS}x{MAX_ROWS} box={BOX}"


@dataclass(frozen=True)
class SheetTile:
    entry_id: str
    group: str
    image: Path | None  # the poster; None: a placeholder showing `note`
    note: str | None = None
    shows: str = ""  # the sha256 of the video the poster is of


Cell = tuple[int, int]  # (row, column)


def sheet_tiles(
    manifest: Manifest, store: StateStore, posters: Mapping[str, Poster | FrameFailure]
) -> list[SheetTile]:
    """A tile per entry, grouped, groups in the order their first entry appears."""
    tiles: list[SheetTile] = []
    for group, entries in grouped(manifest.entries).items():
        for entry in entries:
            poster = posters.get(entry.id)
            if isinstance(poster, Poster):
                tiles.append(SheetTile(entry.id, group, poster.path, shows=poster.video_sha256))
                continue
            if isinstance(poster, FrameFailure):
                note = poster.reason
            else:
                record = store.get(entry.id)
                if record is None:
                    note = "not rendered yet"
                elif record.state is EntryState.FAILED:
                    note = f"failed: {record.error_code or 'no code'}"
                else:
                    note = str(record.state)
            tiles.append(SheetTile(entry.id, group, None, note))
    return tiles


def place(tiles: Sequence[SheetTile], columns: int) -> list[Cell]:
    """Where each tile goes. A group of several tiles that does not fit in the rest of a row
    starts a new row; one longer than a row takes whole rows, and what follows it starts anew."""
    cells: list[Cell] = []
    row, column = 0, 0
    index = 0
    while index < len(tiles):
        size = 1
        while index + size < len(tiles) and tiles[index + size].group == tiles[index].group:
            size += 1
        fresh_row = column > 0 and size > 1 and (column + size > columns)
        if fresh_row:
            row, column = row + 1, 0
        for _ in range(size):
            if column == columns:
                row, column = row + 1, 0
            cells.append((row, column))
            column += 1
        if size > columns:
            row, column = row + 1, 0
        index += size
    return cells


def render_contact_sheet(title: str, tiles: Sequence[SheetTile]) -> Image.Image:
    """The sheet as an image: `title` on top, then the tiles as `place` arranges them."""
    columns = max(1, min(MAX_COLUMNS, len(tiles)))
    cells = place(tiles, columns)
    shown = [i for i, (row, _) in enumerate(cells) if row < MAX_ROWS]
    hidden = len(tiles) - len(shown)
    rows = 1 + max((cells[i][0] for i in shown), default=0)
    used = 1 + max((cells[i][1] for i in shown), default=0)
    step_x, step_y = BOX + GAP + 2 * PAD, BOX + LABEL + GAP + 2 * PAD
    width = 2 * MARGIN + used * step_x - GAP
    height = 2 * MARGIN + HEADER + rows * step_y - GAP + (LABEL if hidden else 0)
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_font, font = _font(18), _font(13)
    draw.text((MARGIN, MARGIN), _fit(draw, title, title_font, width - 2 * MARGIN), _INK, title_font)

    def origin(cell: Cell) -> tuple[int, int]:
        return MARGIN + cell[1] * step_x, MARGIN + HEADER + cell[0] * step_y

    # Tints first, one per row a group of several spans, so tiles are drawn over them.
    sizes = Counter(tile.group for tile in tiles)
    spans: dict[tuple[str, int], list[int]] = {}
    for index in shown:
        row, column = cells[index]
        if sizes[tiles[index].group] > 1:
            spans.setdefault((tiles[index].group, row), []).append(column)
    for (_, row), taken in spans.items():
        left, top = origin((row, min(taken)))
        right = origin((row, max(taken)))[0] + step_x - GAP
        draw.rounded_rectangle((left, top, right, top + step_y - GAP), 8, fill=_TINT)
    for index in shown:
        left, top = origin(cells[index])
        _draw_tile(sheet, draw, tiles[index], left + PAD, top + PAD, font)
    if hidden:
        note = f"and {hidden} more entries, not shown here: see report.html"
        draw.text((MARGIN, height - MARGIN - LABEL + 4), note, _FAINT, font)
    return sheet


def write_contact_sheet(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    posters: Mapping[str, Poster | FrameFailure] | None = None,
) -> Path:
    """Write `<output>/<name>/contact-sheet.png` (making the posters it lacks) and return it;
    the sheet there is kept when it already shows exactly this."""
    if posters is None:
        posters = make_posters(layout, manifest, store)
    tiles = sheet_tiles(manifest, store, posters)
    done = sum(1 for tile in tiles if tile.image is not None)
    world = store.world()
    simulated = " (SIMULATED clips, not renders)" if world and world.simulated else ""
    title = f"{manifest.name}: {done} of {len(tiles)} entries with a frame{simulated}"
    target = layout.folder / CONTACT_SHEET_FILE
    digest = _digest(title, tiles)
    if _kept_digest(target) == digest:
        return target
    info = PngInfo()
    info.add_text(_DIGEST_CHUNK, digest)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        render_contact_sheet(title, tiles).save(temporary, "PNG", pnginfo=info)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _digest(title: str, tiles: Sequence[SheetTile]) -> str:
    shown = [[t.entry_id, t.group, t.shows, t.note] for t in tiles]
    text = json.dumps([_DIGEST_RECIPE, title, shown], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _kept_digest(path: Path) -> str | None:
    try:
        with Image.open(path) as image:
            value = image.info.get(_DIGEST_CHUNK)  # written before the pixels: no decode
    except (OSError, UnidentifiedImageError):
        return None
    return value if isinstance(value, str) else None


def _draw_tile(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    tile: SheetTile,
    left: int,
    top: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    picture = _open(tile.image) if tile.image is not None else None
    if picture is not None:
        draw.rectangle((left, top, left + BOX - 1, top + BOX - 1), fill=_PICTURE_GROUND)
        # Bilinear, which Pillow widens into a proper downscaling filter: from the JPEG's draft
        # (at most twice the tile) it costs 60 % of the default bicubic, on up to 240 tiles.
        picture.thumbnail((BOX, BOX), Image.Resampling.BILINEAR)
        sheet.paste(picture, (left + (BOX - picture.width) // 2, top + (BOX - picture.height) // 2))
    else:
        draw.rectangle((left, top, left + BOX - 1, top + BOX - 1), fill=_PLACEHOLDER)
        note = tile.note if tile.image is None else f"{tile.image.name} cannot be read"
        lines = _wrap(draw, note or "no picture", font, BOX - 16)
        for number, line in enumerate(lines):
            draw.text((left + 8, top + 8 + 17 * number), line, _INK, font)
    label = _fit(draw, tile.entry_id, font, BOX)
    draw.text((left, top + BOX + 5), label, _INK, font)


def _open(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            # A JPEG decodes straight at a fraction of its size, no smaller than the tile's.
            fit = min(BOX / image.width, BOX / image.height, 1.0)
            image.draft("RGB", (math.ceil(image.width * fit), math.ceil(image.height * fit)))
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError):
        return None  # a poster removed since: the tile says so instead


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's own font (no system fonts): the same pixels on every machine with this Pillow.
    return ImageFont.load_default(size=size)


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    max_lines: int = 10,
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(_fit(draw, word, font, width))
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _fit(draw, lines[max_lines - 1] + " …", font, width)]
    return lines
