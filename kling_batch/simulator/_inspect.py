"""The service's checks of an input file, applied to the bytes of an uploaded object.

The reference's media limits: images (first_frame, last_frame, refer) are JPEG or PNG without
alpha, each side 300..8000 px, aspect ratio within 1:2.5..2.5:1, at most 10 MB; videos (base,
feature) are mp4/mov, 3..10 s, each side 720..2160 px, 24..60 fps, at most 200 MB. A video is
read only as far as its boxes say (no decoding): what a file does not say is not held against it.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from kling_batch.simulator._mp4 import children, walk

MB = 1024 * 1024
MAX_IMAGE_BYTES = 10 * MB
IMAGE_SIDES = (300, 8000)
MAX_ASPECT = 2.5
IMAGE_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG"}  # MPO: a JPEG with extra frames
MAX_VIDEO_BYTES = 200 * MB
VIDEO_SIDES = (720, 2160)
VIDEO_SECONDS = (3.0, 10.0)
VIDEO_FPS = (24.0, 60.0)
# What an ISO base media file (mp4, QuickTime mov) may start with.
_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def inspect_image(data: bytes) -> str | None:
    """Why the service would refuse `data` as an input image; None if it takes it."""
    if len(data) > MAX_IMAGE_BYTES:
        return f"the image is {len(data) / MB:.1f} MB; at most 10 MB"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return "the file is not a decodable image; use JPEG or PNG"
    with image:
        shown = IMAGE_FORMATS.get(image.format or "")
        if shown is None:
            return f"the image format {image.format} is not supported; use JPEG or PNG"
        width, height = image.size
        low, high = IMAGE_SIDES
        if not (low <= width <= high and low <= height <= high):
            return f"the image is {width}x{height} px; each side must be {low} to {high} px"
        if max(width, height) > MAX_ASPECT * min(width, height):
            return (
                f"the image's aspect ratio {width}:{height} is outside 1:2.5 to 2.5:1 "
                f"({width}x{height} px)"
            )
        if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
            return f"the {shown} image has an alpha channel; use one without transparency"
        try:
            image.load()
        except (OSError, SyntaxError, ValueError):
            return f"the {shown} image cannot be decoded (damaged or cut short)"
    return None


def inspect_video(data: bytes) -> str | None:
    """Why the service would refuse `data` as an input video; None if it takes it."""
    if len(data) > MAX_VIDEO_BYTES:
        return f"the video is {len(data) / MB:.1f} MB; at most 200 MB"
    if len(data) < 8 or data[4:8] not in _FIRST_BOXES:
        return "the file is not an mp4 or mov video"
    facts = _read_boxes(data)
    if facts.seconds is not None and not VIDEO_SECONDS[0] <= facts.seconds <= VIDEO_SECONDS[1]:
        return f"the video lasts {facts.seconds:.2f} s; it must last 3 to 10 s"
    if facts.size is not None:
        (width, height), (low, high) = facts.size, VIDEO_SIDES
        if not (low <= width <= high and low <= height <= high):
            return f"the video is {width}x{height} px; each side must be {low} to {high} px"
    if facts.fps is not None and not VIDEO_FPS[0] <= facts.fps <= VIDEO_FPS[1]:
        return f"the video has {facts.fps:.2f} fps; it must have 24 to 60"
    return None


@dataclass
class _VideoFacts:
    seconds: float | None = None
    size: tuple[int, int] | None = None  # of the first track with a picture
    fps: float | None = None  # of that track


def _read_boxes(data: bytes) -> _VideoFacts:
    facts = _VideoFacts()
    for kind, body in children(data):
        if kind == b"moov":
            for inner, content in children(body):
                if inner == b"mvhd":
                    facts.seconds = _mvhd_seconds(content)
                elif inner == b"trak" and facts.size is None:
                    _read_track(content, facts)
    return facts


def _read_track(track: bytes, facts: _VideoFacts) -> None:
    found = {box.kind: track[box.body : box.end] for box in walk(track)}
    tkhd = found.get(b"tkhd")
    if tkhd is None or len(tkhd) < 84:
        return
    width, height = (value >> 16 for value in struct.unpack(">II", tkhd[-8:]))
    if not width or not height:  # a sound track
        return
    facts.size = (width, height)
    mdhd, stts = found.get(b"mdhd"), found.get(b"stts")
    if mdhd is None or stts is None or len(stts) < 8:
        return
    scale, duration = _mdhd_time(mdhd)
    (entries,) = struct.unpack(">I", stts[4:8])
    samples = sum(
        struct.unpack(">I", stts[8 + 8 * n : 12 + 8 * n])[0]
        for n in range(entries)
        if 16 + 8 * n <= len(stts)
    )
    if scale and duration:
        facts.fps = samples * scale / duration


def _mvhd_seconds(content: bytes) -> float | None:
    scale, duration = _mdhd_time(content)  # mvhd starts as mdhd does
    return duration / scale if scale else None


def _mdhd_time(content: bytes) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd box; (0, 0) if it is cut short."""
    if content[:1] == b"\x01" and len(content) >= 32:
        scale, duration = struct.unpack(">IQ", content[20:32])
    elif len(content) >= 20:
        scale, duration = struct.unpack(">II", content[12:20])
    else:
        return 0, 0
    return int(scale), int(duration)
