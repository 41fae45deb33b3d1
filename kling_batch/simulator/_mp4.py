"""ISO base media files (mp4, QuickTime mov) as boxes: read them, and drop a clip's sound.

Nothing here decodes a picture or a sound; it only follows the boxes' sizes and kinds.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# The boxes a track's sample tables lie in, below `moov`.
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


@dataclass(frozen=True)
class Box:
    """One box of a buffer: its kind and where its header, body and end lie in that buffer."""

    kind: bytes
    start: int
    body: int
    end: int


def boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes laid end to end in data[start:end]; a box cut short ends the run."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        head = 8
        if size == 1 and offset + 16 <= end:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
            head = 16
        elif size == 0:  # the last box, to the end of the file
            size = end - offset
        if size < head or offset + size > end:
            return
        yield Box(bytes(kind), offset, offset + head, offset + size)
        offset += size


def walk(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Every box in data[start:end], depth first, through the CONTAINERS."""
    for box in boxes(data, start, end):
        yield box
        if box.kind in CONTAINERS:
            yield from walk(data, box.body, box.end)


def children(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(kind, body) of each box laid end to end in `data`."""
    for box in boxes(data):
        yield box.kind, data[box.body : box.end]


def handler(data: bytes | bytearray, track: Box) -> bytes | None:
    """A `trak` box's handler type: b"vide" for a picture, b"soun" for sound."""
    for box in walk(data, track.body, track.end):
        if box.kind == b"hdlr" and box.end - box.body >= 12:
            # version and flags (4 bytes), pre_defined (4), then the handler type.
            return bytes(data[box.body + 8 : box.body + 12])
    return None


def without_sound(clip: bytes) -> bytes:
    """`clip` without its sound tracks, still a file any player plays.

    The sound's samples stay in `mdat`, where no track points any more (the format allows
    bytes nobody points to); when `moov` comes before `mdat`, as with faststart, the picture's
    chunk offsets move back by the bytes `moov` lost.
    """
    moov = next((box for box in boxes(clip) if box.kind == b"moov"), None)
    if moov is None:
        raise ValueError("not an mp4 file: no moov box")
    kept = [
        box
        for box in boxes(clip, moov.body, moov.end)
        if box.kind != b"trak" or handler(clip, box) != b"soun"
    ]
    body = bytearray(b"".join(clip[box.start : box.end] for box in kept))
    lost = (moov.end - moov.start) - (8 + len(body))
    if lost == 0:
        return clip
    for box in walk(body):
        if box.kind in (b"stco", b"co64"):
            _move_chunks(body, box, past=moov.end, by=-lost)
    head = struct.pack(">I4s", 8 + len(body), b"moov")
    return clip[: moov.start] + head + body + clip[moov.end :]


def _move_chunks(table: bytearray, box: Box, past: int, by: int) -> None:
    """Move the chunk offsets of a `stco` or `co64` box that point beyond `past` by `by`."""
    width, code = (4, ">I") if box.kind == b"stco" else (8, ">Q")
    (count,) = struct.unpack(">I", table[box.body + 4 : box.body + 8])
    for n in range(count):
        at = box.body + 8 + width * n
        if at + width > box.end:
            return
        (offset,) = struct.unpack(code, table[at : at + width])
        if offset >= past:
            table[at : at + width] = struct.pack(code, offset + by)
