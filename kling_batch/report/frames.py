"""Poster frames of the done videos, and thumbnails of local input images (spec §8).

    posters = make_posters(layout, manifest, store)     # entry id -> Poster | FrameFailure

A poster is `<entry>/poster.jpg`: one frame a second into the clip (the first frames of a
render are often a fade from black), scaled to fit POSTER_BOX. The frame is read by the ffmpeg
binary the imageio-ffmpeg package ships, so nothing is installed on the system; Pillow scales
and writes it. Each poster carries, in its JPEG comment, the sha256 of the video it shows and
the recipe that made it, so it is made once per video: a rerun of the report reads only that
comment, and a video rendered again gets a new poster.

Nothing here raises for a video it cannot read: the caller gets a `FrameFailure` with the reason
(and shows a placeholder), and the rest of the batch goes on.
"""

from __future__ import annotations

import io
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from kling_batch.delivery.videos import done_video
from kling_batch.hashing import sha256_file
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.state import StateStore

POSTER_FILE = "poster.jpg"
POSTER_BOX = (640, 640)  # the longer side at most 640 px: sharp on a card, light in a page
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_DIR = "_thumbnails"  # entry ids start with a letter or digit, so this never collides
FRAME_AT_SECONDS = 1.0
FFMPEG_SECONDS = 60  # a frame takes well under a second; a hung ffmpeg must not stall a run
_RECIPE = f"kling-batch poster v1 at={FRAME_AT_SECONDS:g}s box={POSTER_BOX[0]}x{POSTER_BOX[1]}"


@dataclass(frozen=True)
class Poster:
    entry_id: str
    path: Path
    made: bool  # False: the poster on disk already showed this video


@dataclass(frozen=True)
class Thumbnail:
    source: Path
    path: Path


@dataclass(frozen=True)
class FrameFailure:
    """No picture for `subject` (an entry id, or an input file), and why, for a placeholder."""

    subject: str
    reason: str


def make_posters(
    layout: OutputLayout, manifest: Manifest, store: StateStore, *, ffmpeg: str | None = None
) -> dict[str, Poster | FrameFailure]:
    """A poster for every done entry of `manifest` in `layout`, in manifest order; entries that
    are not done have none (and no key)."""
    posters: dict[str, Poster | FrameFailure] = {}
    for entry in manifest.entries:
        video = done_video(layout, store.get(entry.id))
        if video is None:
            continue
        if not video.path.is_file():
            posters[entry.id] = FrameFailure(entry.id, f"{video.path.name} is missing")
            continue
        try:
            sha256 = sha256_file(video.path)
        except OSError as problem:
            posters[entry.id] = FrameFailure(entry.id, f"cannot read the video: {problem}")
            continue
        if sha256 != video.sha256:
            # Not the render the runner verified: the report shows no picture of it.
            posters[entry.id] = FrameFailure(
                entry.id, f"{video.path.name} no longer matches its recorded sha256"
            )
            continue
        posters[entry.id] = poster_frame(
            entry.id, video.path, layout.entry_dir(entry.id) / POSTER_FILE, sha256, ffmpeg=ffmpeg
        )
    return posters


def poster_frame(
    subject: str, video: Path, target: Path, video_sha256: str, *, ffmpeg: str | None = None
) -> Poster | FrameFailure:
    """Write `target`, a poster of `video` (whose sha256 the caller knows), unless the one
    there already shows this video."""
    key = f"{_RECIPE} video-sha256={video_sha256}"
    if _comment(target) == key:
        return Poster(subject, target, made=False)
    frame = _read_frame(subject, video, ffmpeg)
    if isinstance(frame, FrameFailure):
        return frame
    problem = _save_jpeg(frame, target, POSTER_BOX, key)
    if problem is not None:
        return FrameFailure(subject, problem)
    return Poster(subject, target, made=True)


def input_thumbnails(layout: OutputLayout, entry: Entry) -> tuple[Thumbnail | FrameFailure, ...]:
    """A thumbnail of each local image `entry` sends (first and last frames, references), in
    `<output>/_thumbnails/`, named by content hash: a file used by many entries is shrunk once."""
    found: list[Thumbnail | FrameFailure] = []
    for media in entry.local_media:
        if media.type.is_video or media.path is None:
            continue
        found.append(image_thumbnail(media.path, layout.folder / THUMBNAIL_DIR))
    return tuple(found)


def image_thumbnail(source: Path, folder: Path) -> Thumbnail | FrameFailure:
    """`folder/<16 digits of the sha256 of source>-<size>.jpg`, made once per content."""
    try:
        digest = sha256_file(source)
    except OSError as problem:
        return FrameFailure(str(source), f"cannot read {source.name}: {problem.strerror}")
    target = folder / f"{digest[:16]}-{THUMBNAIL_BOX[0]}.jpg"  # a new size, a new file
    if target.is_file():
        return Thumbnail(source, target)
    try:
        with Image.open(source) as image:
            image.load()
            picture = image.copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as problem:
        return FrameFailure(str(source), f"{source.name} is not a readable image: {problem}")
    problem_text = _save_jpeg(picture, target, THUMBNAIL_BOX, f"kling-batch thumbnail {digest}")
    if problem_text is not None:
        return FrameFailure(str(source), problem_text)
    return Thumbnail(source, target)


def ffmpeg_executable() -> str | FrameFailure:
    """The ffmpeg that imageio-ffmpeg ships (or `$IMAGEIO_FFMPEG_EXE`, which it honours)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return FrameFailure("ffmpeg", "the imageio-ffmpeg package is not installed")
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as problem:  # no binary for this platform in the wheel
        return FrameFailure("ffmpeg", f"imageio-ffmpeg has no ffmpeg here: {problem}")


def _read_frame(subject: str, video: Path, ffmpeg: str | None) -> Image.Image | FrameFailure:
    executable = ffmpeg or ffmpeg_executable()
    if isinstance(executable, FrameFailure):
        return FrameFailure(subject, executable.reason)
    # A seek past the end (a clip shorter than FRAME_AT_SECONDS) decodes nothing and exits 0:
    # then the first frame will do.
    for seek in (("-ss", f"{FRAME_AT_SECONDS:g}"), ()):
        command = [executable, "-hide_banner", "-loglevel", "error", "-nostdin", *seek]
        command += ["-i", str(video), "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=FFMPEG_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return FrameFailure(subject, f"ffmpeg read no frame within {FFMPEG_SECONDS} s")
        except OSError as problem:
            return FrameFailure(subject, f"cannot run ffmpeg ({executable}): {problem.strerror}")
        if done.returncode != 0:
            return FrameFailure(subject, f"ffmpeg cannot read the video: {_last_line(done.stderr)}")
        if done.stdout:
            try:
                with Image.open(io.BytesIO(done.stdout)) as frame:
                    frame.load()
                    return frame.copy()
            except (OSError, UnidentifiedImageError) as problem:
                return FrameFailure(subject, f"ffmpeg gave no readable frame: {problem}")
    return FrameFailure(subject, "the video has no frame to show")


def _save_jpeg(
    picture: Image.Image, target: Path, box: tuple[int, int], comment: str
) -> str | None:
    """Scale `picture` into `box` and write it as a JPEG through a temporary name; None when
    written, else why not."""
    picture = picture.convert("RGB")
    picture.thumbnail(box, Image.Resampling.LANCZOS)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(temporary, "JPEG", quality=85, comment=comment.encode())
        os.replace(temporary, target)
    except OSError as problem:
        return f"cannot write {target.name}: {problem.strerror or problem}"
    finally:
        temporary.unlink(missing_ok=True)
    return None


def _comment(path: Path) -> str | None:
    """The JPEG comment of `path` (only its header is read), or None."""
    try:
        with Image.open(path) as image:
            comment = image.info.get("comment")
    except (OSError, UnidentifiedImageError):
        return None
    return comment.decode(errors="replace") if isinstance(comment, bytes) else None


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no reason given"
