"""The videos the simulator hands out, and the byte ranges a download may ask for."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kling_batch.simulator._mp4 import without_sound
from kling_batch.simulator._validation import CreateSpec

# (mode, aspect ratio) -> the render's pixel size: std is 720P and pro 1080P, the short side
# being 720 or 1080 in every shape. `usage.size` and the served clip both come from here.
RENDER_SIZES = {
    ("std", "16:9"): (1280, 720),
    ("std", "9:16"): (720, 1280),
    ("std", "1:1"): (720, 720),
    ("pro", "16:9"): (1920, 1080),
    ("pro", "9:16"): (1080, 1920),
    ("pro", "1:1"): (1080, 1080),
}


def render_size(spec: CreateSpec) -> tuple[int, int]:
    """(width, height) of the video a task renders.

    The request's aspect ratio, or 16:9 where the reference takes it from the media instead
    (first frame, editing): the simulator does not read a shape from the input.
    """
    return RENDER_SIZES[spec.mode, spec.aspect_ratio]


def clip_name(mode: str, aspect_ratio: str, watermark: bool) -> str:
    """The committed file of a render, under the package: clips/pro-9x16-watermark.mp4."""
    shape = aspect_ratio.replace(":", "x")
    return f"clips/{mode}-{shape}{'-watermark' if watermark else ''}.mp4"


@cache
def render_clip(mode: str, aspect_ratio: str, watermark: bool, audio: bool) -> bytes:
    """The committed clip of that size (made by scripts/make_sample_clip.py); read once.

    Each clip is committed with a sound track, dropped here when the task asked for no audio.
    Every clip lasts 3 s whatever the request's duration; `usage.duration` is what was billed.
    """
    name = clip_name(mode, aspect_ratio, watermark)
    clip = resources.files("kling_batch.simulator").joinpath(name).read_bytes()
    return clip if audio else without_sound(clip)


def task_clip(task_id: str, spec: CreateSpec, watermark: bool) -> bytes:
    """The clip of the task's size and sound, plus a top-level `free` box naming the task.

    Players skip `free` boxes, so the file still plays; but each task's video has its own bytes
    and sha256, so a test can tell whose video landed where.
    """
    payload = f"kling-batch simulator: task {task_id}".encode()
    box = struct.pack(">I", 8 + len(payload)) + b"free" + payload
    return render_clip(spec.mode, spec.aspect_ratio, watermark, spec.audio) + box


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
