"""The videos the simulator hands out, and the byte ranges a download may ask for."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources


@cache
def sample_clip(watermark: bool) -> bytes:
    """The committed clip (made by scripts/make_sample_clip.py); read once."""
    name = "sample_watermark.mp4" if watermark else "sample.mp4"
    return resources.files("kling_batch.simulator").joinpath(name).read_bytes()


def task_clip(task_id: str, watermark: bool) -> bytes:
    """The sample clip plus a top-level `free` box naming the task.

    Players skip `free` boxes, so the file still plays; but each task's video has its own bytes
    and sha256, so a test can tell whose video landed where.
    """
    payload = f"kling-batch simulator: task {task_id}".encode()
    box = struct.pack(">I", 8 + len(payload)) + b"free" + payload
    return sample_clip(watermark) + box


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class UnsatisfiableRange(Exception):
    """416: the range lies outside the file."""


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of a `Range` header, or None for the whole file.

    Headers that are malformed or ask for several ranges are ignored, which RFC 9110 allows.
    """
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # a suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise UnsatisfiableRange
        return ByteRange(max(0, size - count), size - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # not a valid range at all: ignored, like the malformed ones
    if start >= size:
        raise UnsatisfiableRange
    end = size - 1 if last == "" else min(int(last), size - 1)
    return ByteRange(start, end)
