"""The committed sample clips and the Range header parser."""

from __future__ import annotations

import struct

import pytest

from kling_batch.simulator._media import (
    ByteRange,
    UnsatisfiableRange,
    parse_range,
    sample_clip,
    task_clip,
)


@pytest.mark.parametrize("watermark", [False, True])
def test_the_sample_clips_are_small_real_h264_mp4s(watermark: bool) -> None:
    clip = sample_clip(watermark)
    assert 1000 < len(clip) < 200 * 1024
    assert clip[4:8] == b"ftyp"
    assert b"avc1" in clip and b"moov" in clip


def test_a_task_clip_is_the_sample_plus_a_free_box() -> None:
    clip = task_clip("task-1", False)
    base = sample_clip(False)
    size, kind = struct.unpack(">I4s", clip[len(base) : len(base) + 8])
    assert clip.startswith(base) and kind == b"free" and len(base) + size == len(clip)
    assert task_clip("task-2", False) != clip


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
