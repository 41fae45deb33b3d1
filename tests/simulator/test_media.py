"""The committed render clips, dropping a clip's sound, and the Range header parser."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from kling_batch.simulator._inspect import inspect_video
from kling_batch.simulator._media import (
    RENDER_SIZES,
    ByteRange,
    UnsatisfiableRange,
    parse_range,
    render_clip,
    task_clip,
)
from kling_batch.simulator._mp4 import Box, boxes, handler, walk, without_sound
from kling_batch.simulator._validation import validate_create

from .conftest import body

RENDERS = sorted(RENDER_SIZES)


@pytest.mark.parametrize(("mode", "aspect_ratio"), RENDERS)
@pytest.mark.parametrize("watermark", [False, True])
def test_each_render_clip_is_a_small_real_h264_mp4(
    mode: str, aspect_ratio: str, watermark: bool
) -> None:
    clip = render_clip(mode, aspect_ratio, watermark, audio=True)
    assert 1000 < len(clip) < 100 * 1024
    assert clip[4:8] == b"ftyp"
    assert b"avc1" in clip and b"mp4a" in clip
    # A render is a video the service would take back for editing (720..2160 px, 3 s, 24 fps).
    assert inspect_video(clip) is None


def test_the_watermarked_clip_differs() -> None:
    assert render_clip("std", "16:9", True, True) != render_clip("std", "16:9", False, True)


def _tracks(data: bytes) -> list[Box]:
    moov = next(box for box in boxes(data) if box.kind == b"moov")
    return [box for box in boxes(data, moov.body, moov.end) if box.kind == b"trak"]


def _chunks(data: bytes, track: Box) -> list[bytes]:
    """The first 64 bytes at each chunk offset of a track: what its sample table points at."""
    table = next(box for box in walk(data, track.body, track.end) if box.kind == b"stco")
    (count,) = struct.unpack(">I", data[table.body + 4 : table.body + 8])
    offsets = struct.unpack(f">{count}I", data[table.body + 8 : table.body + 8 + 4 * count])
    return [data[offset : offset + 64] for offset in offsets]


@pytest.mark.parametrize(("mode", "aspect_ratio"), RENDERS)
def test_without_sound_keeps_the_picture_where_its_table_points(
    mode: str, aspect_ratio: str
) -> None:
    loud = render_clip(mode, aspect_ratio, False, audio=True)
    quiet = without_sound(loud)
    assert [handler(loud, track) for track in _tracks(loud)] == [b"vide", b"soun"]
    assert [handler(quiet, track) for track in _tracks(quiet)] == [b"vide"]
    # moov came first and shrank: the picture's chunk offsets moved with the bytes.
    assert loud.index(b"moov") < loud.index(b"mdat") and len(quiet) < len(loud)
    assert _chunks(quiet, _tracks(quiet)[0]) == _chunks(loud, _tracks(loud)[0])
    assert render_clip(mode, aspect_ratio, False, audio=False) == quiet
    assert without_sound(quiet) == quiet


def test_without_sound_a_player_decodes_the_same_picture(tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()

    def picture(data: bytes) -> str:
        path = tmp_path / "clip.mp4"
        path.write_bytes(data)
        command = [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v", "-f", "md5", "-"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        assert done.stderr == ""  # no broken NAL units: every offset still lands on its sample
        return done.stdout

    loud = render_clip("pro", "9:16", True, audio=True)
    assert picture(without_sound(loud)) == picture(loud)


def test_without_sound_needs_an_mp4() -> None:
    with pytest.raises(ValueError, match="no moov"):
        without_sound(b"\0\0\0\x08free")


def test_a_task_clip_is_its_render_plus_a_free_box() -> None:
    spec = validate_create(body(mode="std", aspect_ratio="9:16", audio=True))
    clip = task_clip("task-1", spec, False)
    base = render_clip("std", "9:16", False, True)
    size, kind = struct.unpack(">I4s", clip[len(base) : len(base) + 8])
    assert clip.startswith(base) and kind == b"free" and len(base) + size == len(clip)
    assert clip.endswith(b"task task-1")
    assert task_clip("task-2", spec, False) != clip


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-", ByteRange(0, 99)),
        ("bytes=10-19", ByteRange(10, 19)),
        ("bytes=90-500", ByteRange(90, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-500", ByteRange(0, 99)),
        ("bytes=5-3", None),  # not a range: ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_an_unsatisfiable_range(header: str) -> None:
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, 100)
