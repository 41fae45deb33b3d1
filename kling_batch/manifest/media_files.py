"""Facts about local media files, read once per file however many entries use it.

Images are measured with Pillow, reading the header only. Videos are recognised by their
container's first box, and measured (duration, frame size, frame rate) by a prober: FFmpeg's
libraries in this process, through PyAV (a dependency, so normally there), else `ffprobe` on
PATH. Without either, the rules say the video was not measured rather than guess.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

PROBE_TIMEOUT_SECONDS = 30.0
# Bytes 4..8 of an ISO-BMFF (mp4) or QuickTime (mov) file: the type of the first box.
_MOVIE_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


@dataclass(frozen=True)
class FileFacts:
    size: int = 0
    problem: str | None = None  # why the file cannot be used at all


@dataclass(frozen=True)
class ImageFacts:
    format: str | None  # "JPEG", "PNG", ...; None: not an image Pillow can read
    width: int = 0
    height: int = 0
    alpha: bool = False


@dataclass(frozen=True)
class VideoStream:
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None


@dataclass(frozen=True)
class VideoFacts:
    movie_container: bool  # starts like an mp4/mov file
    stream: VideoStream | None = None  # None: not measured
    probe_error: str | None = None


class ProbeError(Exception):
    """The prober ran but could not read a video stream from the file."""


Prober = Callable[[Path], VideoStream]


class MediaInspector:
    """Reads and caches facts about local files. `prober`: how to measure videos.

    "auto" (the default) finds one on first use (see the module docstring); None skips
    measuring; or pass any callable from a path to a `VideoStream`.
    """

    def __init__(self, prober: Prober | Literal["auto"] | None = "auto") -> None:
        self._find_prober = prober == "auto"
        self._prober = None if isinstance(prober, str) else prober
        self._files: dict[Path, FileFacts] = {}
        self._images: dict[Path, ImageFacts] = {}
        self._videos: dict[Path, VideoFacts] = {}

    @property
    def prober(self) -> Prober | None:
        if self._find_prober:
            self._prober, self._find_prober = find_prober(), False
        return self._prober

    def file(self, path: Path) -> FileFacts:
        if path not in self._files:
            self._files[path] = _file_facts(path)
        return self._files[path]

    def image(self, path: Path) -> ImageFacts:
        if path not in self._images:
            self._images[path] = _image_facts(path)
        return self._images[path]

    def video(self, path: Path) -> VideoFacts:
        if path not in self._videos:
            self._videos[path] = self._video_facts(path)
        return self._videos[path]

    def _video_facts(self, path: Path) -> VideoFacts:
        try:
            with path.open("rb") as handle:
                head = handle.read(8)
        except OSError as exc:
            return VideoFacts(False, probe_error=str(exc.strerror or exc))
        movie = len(head) == 8 and head[4:8] in _MOVIE_BOXES
        prober = self.prober
        if not movie or prober is None:
            return VideoFacts(movie)
        try:
            return VideoFacts(movie, prober(path))
        except ProbeError as exc:
            return VideoFacts(movie, probe_error=str(exc))


def _file_facts(path: Path) -> FileFacts:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return FileFacts(problem="no such file")
    except OSError as exc:
        return FileFacts(problem=f"cannot read it: {exc.strerror or exc}")
    if path.is_dir():
        return FileFacts(problem="this is a folder, not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return FileFacts(problem=f"cannot read it: {exc.strerror or exc}")
    return FileFacts(size=stat.st_size)


def _image_facts(path: Path) -> ImageFacts:
    from PIL import Image, UnidentifiedImageError  # only manifests with local images pay for it

    try:
        with warnings.catch_warnings():
            # Sides over 8000 px are refused by the rules anyway; Pillow's warning adds nothing.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                alpha = "A" in image.getbands() or "transparency" in image.info
                return ImageFacts(image.format, image.width, image.height, alpha)
    except Image.DecompressionBombError:
        return ImageFacts("too large to open", 0, 0)
    except (UnidentifiedImageError, OSError, ValueError):
        return ImageFacts(None)


# --- probers -----------------------------------------------------------------------------------


def find_prober() -> Prober | None:
    try:
        import av  # noqa: F401  # only whether it is there matters here
    except ImportError:
        ffprobe = shutil.which("ffprobe")
        return None if ffprobe is None else lambda path: probe_with_ffprobe(ffprobe, path)
    return probe_with_pyav


def probe_with_pyav(path: Path) -> VideoStream:
    """What ffprobe would say, read in this process (no ffprobe process for each file)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ProbeError("no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            duration = container.duration  # in microseconds, as ffprobe's format=duration
            return VideoStream(
                duration=duration / 1_000_000 if duration else None,
                width=stream.width or None,
                height=stream.height or None,
                fps=float(rate) if rate else None,
            )
    except (av.FFmpegError, OSError) as problem:
        raise ProbeError(f"not a readable video: {problem.strerror}") from None


def probe_with_ffprobe(ffprobe: str, path: Path) -> VideoStream:
    command = [
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,avg_frame_rate,r_frame_rate:format=duration",
        "-of",
        "json",
        str(path),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProbeError(f"ffprobe failed: {exc}") from None
    if done.returncode != 0:
        raise ProbeError(done.stderr.decode(errors="replace").strip() or "ffprobe failed")
    try:
        report = json.loads(done.stdout)
        stream = report["streams"][0]
    except (ValueError, KeyError, IndexError):
        raise ProbeError("no video stream") from None
    rate = stream.get("avg_frame_rate") or stream.get("r_frame_rate") or "0/0"
    duration = report.get("format", {}).get("duration")
    return VideoStream(
        duration=float(duration) if duration else None,
        width=stream.get("width"),
        height=stream.get("height"),
        fps=_rate(rate),
    )


def _rate(text: str) -> float | None:
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None
