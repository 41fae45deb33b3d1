"""The service's checks of input files, on bytes: each limit of the reference and a near miss."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from kling_batch.simulator._inspect import inspect_image, inspect_video

from .conftest import SAMPLE_CLIP, image_bytes


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [(300, 300, "PNG"), (8000, 3200, "PNG"), (750, 300, "JPEG"), (300, 750, "JPEG")],
)
def test_images_within_every_limit_pass(width: int, height: int, fmt: str) -> None:
    assert inspect_image(image_bytes(width, height, fmt)) is None


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"this is text, named frame.png", "not a decodable image"),
        (b"", "not a decodable image"),
        (image_bytes(100, 80), "100x80 px; each side must be 300 to 8000 px"),
        (image_bytes(299, 400), "299x400 px"),
        (image_bytes(8001, 4000), "8001x4000 px"),
        (image_bytes(751, 300, "JPEG"), "aspect ratio 751:300 is outside 1:2.5 to 2.5:1"),
        (image_bytes(640, 360, "PNG", "RGBA"), "alpha channel"),
        (image_bytes(640, 360, "GIF"), "format GIF is not supported"),
        (image_bytes(640, 360, "WEBP"), "format WEBP is not supported"),
        (image_bytes(640, 360)[:-40], "cannot be decoded"),
    ],
)
def test_images_the_service_refuses(data: bytes, says: str) -> None:
    problem = inspect_image(data)
    assert problem is not None and says in problem


def test_a_png_with_a_transparent_colour_has_alpha() -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 360)).save(out, format="PNG", transparency=(0, 0, 0))
    assert "alpha" in (inspect_image(out.getvalue()) or "")


def test_an_image_over_10_mb_is_refused() -> None:
    noise = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    assert len(out.getvalue()) > 10 * 1024 * 1024
    assert "at most 10 MB" in (inspect_image(out.getvalue()) or "")


MakeVideo = Callable[..., bytes]


@pytest.fixture(scope="module")
def make_video(tmp_path_factory: pytest.TempPathFactory) -> MakeVideo:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    folder = tmp_path_factory.mktemp("videos")

    def make(width: int = 720, height: int = 720, seconds: float = 3, fps: int = 24) -> bytes:
        path: Path = folder / f"{width}x{height}-{seconds}s-{fps}.mp4"
        source = f"color=c=blue:size={width}x{height}:rate={fps}:duration={seconds}"
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", source, *encode],
            check=True,
            timeout=60,
        )
        return path.read_bytes()

    return make


def test_a_video_within_every_limit_passes(make_video: MakeVideo) -> None:
    assert inspect_video(make_video()) is None
    assert inspect_video(make_video(720, 1280, 3, 60)) is None
    assert inspect_video(make_video(seconds=10)) is None


@pytest.mark.parametrize(
    ("video", "says"),
    [
        ({"seconds": 2}, "lasts 2.00 s; it must last 3 to 10 s"),
        ({"seconds": 11}, "lasts 11.00 s"),
        ({"width": 640, "height": 720}, "640x720 px; each side must be 720 to 2160 px"),
        ({"fps": 15}, "15.00 fps; it must have 24 to 60"),
    ],
)
def test_videos_the_service_refuses(make_video: MakeVideo, video: dict, says: str) -> None:
    assert says in (inspect_video(make_video(**video)) or "")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "not an mp4 or mov"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not an mp4 or mov"),
        (SAMPLE_CLIP, "320x180 px"),  # the simulator's own 320x180 sample
    ],
)
def test_files_that_are_no_usable_video(data: bytes, says: str) -> None:
    assert says in (inspect_video(data) or "")


def test_a_video_over_200_mb_is_refused() -> None:
    data = b"\0\0\0\x18ftypisom" + bytes(200 * 1024 * 1024)
    assert "at most 200 MB" in (inspect_video(data) or "")
