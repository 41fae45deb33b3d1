"""Local media files (KB3xx): real files made here, each rule broken and barely kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from kling_batch.manifest import Diagnostic, Severity
from kling_batch.manifest.media_files import (
    MediaInspector,
    VideoStream,
    probe_with_ffprobe,
    probe_with_pyav,
)

Diagnose = Callable[..., list[Diagnostic]]

IMAGE_ENTRY = """
version: 1
shots:
  - id: frame
    prompt: it moves
    media:
      - {{type: first_frame, path: {path}}}
"""
VIDEO_ENTRY = """
version: 1
shots:
  - id: edit
    model: omni
    prompt: make the sky purple
    media:
      - {{type: base, path: {path}}}
"""
MOVIE_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def image(folder: Path, name: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> str:
    colour = {"RGB": (40, 90, 200), "RGBA": (40, 90, 200, 255), "LA": (90, 255)}.get(mode, 1)
    Image.new(mode, size, colour).save(folder / name, **save)
    return name


def only(found: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in found if d.code == code]


def in_range(duration: float = 5.0, width: int = 1280, height: int = 720, fps: float = 24.0):
    """A prober that reports fixed measurements (the dependency, not the rules, is stubbed)."""

    def prober(path: Path) -> VideoStream:
        return VideoStream(duration, width, height, fps)

    return prober


# --- images ------------------------------------------------------------------------------------


def test_missing_local_file(diagnose: Diagnose, tmp_path: Path) -> None:
    [diagnostic] = diagnose(IMAGE_ENTRY.format(path="assets/nothing.png"))
    assert diagnostic.code == "KB301"
    assert (diagnostic.position.line, diagnostic.position.column) == (6, 35)
    assert (diagnostic.entry, diagnostic.field) == ("frame", "media[0].path")
    assert str(tmp_path / "assets" / "nothing.png") in diagnostic.message


def test_local_paths_resolve_against_the_manifest_folder(
    diagnose: Diagnose, tmp_path: Path
) -> None:
    (tmp_path / "assets").mkdir()
    image(tmp_path / "assets", "ok.png", (640, 360))
    assert diagnose(IMAGE_ENTRY.format(path="assets/ok.png")) == []


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: image(d, "a.gif", (640, 360), "P", format="GIF"), "KB302"),
        (lambda d: (d / "a.png").write_text("not an image") and "a.png", "KB302"),
        (lambda d: image(d, "a.png", (640, 360), "RGBA"), "KB303"),
        (lambda d: image(d, "a.png", (640, 360), "LA"), "KB303"),
        (lambda d: image(d, "a.png", (640, 360), "P", transparency=0), "KB303"),
        (lambda d: image(d, "a.jpg", (299, 400)), "KB304"),
        (lambda d: image(d, "a.png", (8001, 4000), "1"), "KB304"),  # 1 bit a pixel: quick
        (lambda d: image(d, "a.jpg", (1000, 300)), "KB305"),
        (lambda d: image(d, "a.jpg", (300, 751)), "KB305"),
    ],
)
def test_image_rules_break(
    diagnose: Diagnose, tmp_path: Path, make: Callable[[Path], str], code: str
) -> None:
    name = make(tmp_path)
    found = diagnose(IMAGE_ENTRY.format(path=name))
    assert [d.code for d in found] == [code]
    assert found[0].field == "media[0].path"


@pytest.mark.parametrize(
    "make",
    [
        lambda d: image(d, "a.jpg", (300, 300)),
        lambda d: image(d, "a.png", (8000, 3200), "1"),
        lambda d: image(d, "a.jpg", (750, 300)),  # exactly 2.5:1
        lambda d: image(d, "a.png", (300, 750)),
        lambda d: image(d, "a.png", (640, 360), "L"),
        lambda d: image(d, "a.png", (640, 360), "P"),
    ],
)
def test_image_rules_near_miss(
    diagnose: Diagnose, tmp_path: Path, make: Callable[[Path], str]
) -> None:
    assert diagnose(IMAGE_ENTRY.format(path=make(tmp_path))) == []


def test_image_over_10_mb(diagnose: Diagnose, tmp_path: Path) -> None:
    name = image(tmp_path, "big.png", (640, 360))
    with (tmp_path / name).open("ab") as handle:  # bytes after IEND: still a readable PNG
        handle.write(b"\0" * (10 * 1024 * 1024 - (tmp_path / name).stat().st_size + 1))
    [diagnostic] = diagnose(IMAGE_ENTRY.format(path=name))
    assert diagnostic.code == "KB306"
    with (tmp_path / name).open("r+b") as handle:
        handle.truncate(10 * 1024 * 1024)
    assert diagnose(IMAGE_ENTRY.format(path=name)) == []


def test_a_shared_file_is_read_once_and_reported_once(diagnose: Diagnose, tmp_path: Path) -> None:
    image(tmp_path, "tiny.png", (100, 100))
    found = diagnose("""
        version: 1
        defaults:
          prompt: it moves
          media: [{type: first_frame, path: tiny.png}]
        shots:
          - {id: a}
          - {id: b}
    """)
    [diagnostic] = found
    assert diagnostic.code == "KB304"
    assert diagnostic.field == "defaults.media[0].path"
    assert "also for 1 other entry" in diagnostic.message


# --- videos ------------------------------------------------------------------------------------


def video(folder: Path, name: str, size: int = 4096, head: bytes = MOVIE_HEAD) -> str:
    with (folder / name).open("wb") as handle:
        handle.write(head)
        handle.truncate(size)  # sparse: big files cost nothing
    return name


def test_video_container(diagnose: Diagnose, tmp_path: Path) -> None:
    video(tmp_path, "clip.avi")
    video(tmp_path, "fake.mp4", head=b"just some text, not a movie")
    video(tmp_path, "clip.mov")
    for name in ("clip.avi", "fake.mp4"):
        assert [d.code for d in diagnose(VIDEO_ENTRY.format(path=name), prober=in_range())] == [
            "KB307"
        ]
    assert diagnose(VIDEO_ENTRY.format(path="clip.mov"), prober=in_range()) == []


def test_video_size(diagnose: Diagnose, tmp_path: Path) -> None:
    megabyte = 1024 * 1024
    video(tmp_path, "upload.mp4", size=100 * megabyte + 1)
    video(tmp_path, "huge.mp4", size=200 * megabyte + 1)
    video(tmp_path, "fits.mp4", size=100 * megabyte)
    [upload] = diagnose(VIDEO_ENTRY.format(path="upload.mp4"), prober=in_range())
    [huge] = diagnose(VIDEO_ENTRY.format(path="huge.mp4"), prober=in_range())
    assert (upload.code, huge.code) == ("KB308", "KB308")
    assert "upload" in upload.message
    assert "200 MB" in huge.message
    assert diagnose(VIDEO_ENTRY.format(path="fits.mp4"), prober=in_range()) == []


@pytest.mark.parametrize(
    ("prober", "code"),
    [
        (in_range(duration=2.9), "KB309"),
        (in_range(duration=10.1), "KB309"),
        (in_range(width=719), "KB310"),
        (in_range(height=2161), "KB310"),
        (in_range(fps=23.9), "KB311"),
        (in_range(fps=61), "KB311"),
    ],
)
def test_measured_video_rules_break(
    diagnose: Diagnose, tmp_path: Path, prober: Callable[[Path], VideoStream], code: str
) -> None:
    video(tmp_path, "clip.mp4")
    found = diagnose(VIDEO_ENTRY.format(path="clip.mp4"), prober=prober)
    assert [(d.code, d.field) for d in found] == [(code, "media[0].path")]


@pytest.mark.parametrize(
    "prober",
    [
        in_range(duration=3.0, width=720, height=2160, fps=24.0),
        in_range(duration=10.0, width=2160, height=720, fps=60.0),
        in_range(fps=30000 / 1001),
    ],
)
def test_measured_video_rules_near_miss(
    diagnose: Diagnose, tmp_path: Path, prober: Callable[[Path], VideoStream]
) -> None:
    video(tmp_path, "clip.mp4")
    assert diagnose(VIDEO_ENTRY.format(path="clip.mp4"), prober=prober) == []


def test_unmeasured_video_is_a_warning(diagnose: Diagnose, tmp_path: Path) -> None:
    video(tmp_path, "clip.mp4")
    [diagnostic] = diagnose(VIDEO_ENTRY.format(path="clip.mp4"), prober=None)
    assert (diagnostic.code, diagnostic.severity) == ("KB312", Severity.WARNING)
    assert "ffprobe" in diagnostic.message


def test_each_video_is_measured_once(tmp_path: Path) -> None:
    video(tmp_path, "clip.mp4")
    calls: list[Path] = []

    def prober(path: Path) -> VideoStream:
        calls.append(path)
        return VideoStream(5.0, 1280, 720, 24.0)

    inspector = MediaInspector(prober=prober)
    for _ in range(3):
        assert inspector.video(tmp_path / "clip.mp4").stream is not None
    assert calls == [tmp_path / "clip.mp4"]


# --- the real probers --------------------------------------------------------------------------


@pytest.fixture
def small_clip(tmp_path: Path) -> Path:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "small.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (160, 120), fps=25, macro_block_size=8)
    writer.send(None)
    for _ in range(25):
        writer.send(bytes(160 * 120 * 3))
    writer.close()
    return path


def test_videos_are_measured_in_process_when_pyav_is_there() -> None:
    assert MediaInspector().prober is probe_with_pyav


def test_pyav_prober_measures_a_real_clip(small_clip: Path) -> None:
    stream = probe_with_pyav(small_clip)
    assert (stream.width, stream.height, stream.fps) == (160, 120, 25.0)
    assert stream.duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_prober_measures_a_real_clip(small_clip: Path) -> None:
    stream = probe_with_ffprobe(shutil.which("ffprobe") or "ffprobe", small_clip)
    assert (stream.width, stream.height, stream.fps) == (160, 120, 25.0)
    assert stream.duration == pytest.approx(1.0, abs=0.1)


def test_a_real_clip_out_of_limits_is_reported(diagnose: Diagnose, small_clip: Path) -> None:
    found = diagnose(VIDEO_ENTRY.format(path=small_clip.name), prober=probe_with_pyav)
    assert [d.code for d in found] == ["KB309", "KB310"]  # 1 s long, 160x120 px


def test_an_unreadable_movie_is_an_error(diagnose: Diagnose, tmp_path: Path) -> None:
    video(tmp_path, "broken.mp4")  # an ftyp box and nothing else
    [diagnostic] = diagnose(VIDEO_ENTRY.format(path="broken.mp4"), prober=probe_with_pyav)
    assert diagnostic.code == "KB307"
    assert "cannot be read" in diagnostic.message
