"""Poster frames of the done videos, and thumbnails of local input images (spec §8).

    posters = make_posters(layout, manifest, store)     # entry id -> Poster | FrameFailure

A poster is `<entry>/poster.jpg`: one frame a second into the clip (the first frames of a
render are often a fade from black), fitted into POSTER_BOX. The frame is read by the ffmpeg
binary the imageio-ffmpeg package ships, so nothing is installed on the system; Pillow writes
it. Each poster carries, in its JPEG comment, the sha256 of the video it shows and the recipe
that made it, so it is made once per video: a later report reads only that comment (and, while
the video is older than its poster, hashes nothing), and a video rendered again gets a new one.

Frames are read a few at a time (each ffmpeg is a process of its own). Nothing here raises for
a video it cannot read: the caller gets a `FrameFailure` with the reason (and shows a
placeholder), and the rest of the batch goes on.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from kling_batch.delivery.videos import DoneVideo, done_video
from kling_batch.hashing import sha256_file
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.runner.artifacts import OutputLayout, read_bytes
from kling_batch.runner.state import StateStore

POSTER_FILE = "poster.jpg"
POSTER_BOX = (640, 640)  # the longer side at most 640 px: sharp on a card, light in a page
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_DIR = "_thumbnails"  # entry ids start with a letter or digit, so this never collides
FRAME_AT_SECONDS = 1.0
# A poster's header (JFIF, its comment, tables) lies well within this; a longer one is no poster.
_HEADER_BYTES = 64 * 1024
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0-SOF15
FFMPEG_SECONDS = 60  # a frame takes well under a second; a hung ffmpeg must not stall a run
# ffmpeg processes at once: each decodes on one thread, so this many cores, and no more than
# four (a report must not starve a machine that is rendering or serving something else).
FRAME_WORKERS = max(1, min(4, os.cpu_count() or 1))
_RECIPE = f"kling-batch poster v2 at={FRAME_AT_SECONDS:g}s box={POSTER_BOX[0]}x{POSTER_BOX[1]}"
# ffmpeg fits the frame into the box itself (never enlarging it) and hands it over
# uncompressed: encoding a full 1080p PNG only for Pillow to shrink it cost more than the decode.
_FIT = (
    f"scale=w=min({POSTER_BOX[0]}\\,iw):h=min({POSTER_BOX[1]}\\,ih)"
    ":force_original_aspect_ratio=decrease:flags=area"
)


@dataclass(frozen=True)
class Poster:
    entry_id: str
    path: Path
    made: bool  # False: the poster on disk already showed this video
    video_sha256: str = ""


@dataclass(frozen=True)
class Thumbnail:
    source: Path
    path: Path


@dataclass(frozen=True)
class FrameFailure:
    """No picture for `subject` (an entry id, or an input file), and why, for a placeholder."""

    subject: str
    reason: str
    # True when the video is the verified render and only its frame could not be made: it can
    # still be played.
    video_ok: bool = False


def make_posters(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    ffmpeg: str | None = None,
    workers: int = FRAME_WORKERS,
) -> dict[str, Poster | FrameFailure]:
    """A poster for every done entry of `manifest` in `layout`, in manifest order; entries that
    are not done have none (and no key)."""
    posters: dict[str, Poster | FrameFailure] = {}
    to_make: list[DoneVideo] = []
    for entry in manifest.entries:
        video = done_video(layout, store.get(entry.id))
        if video is None:
            continue
        kept = _kept_poster(video, layout.entry_dir(entry.id) / POSTER_FILE)
        if kept is None:
            to_make.append(video)
        else:
            posters[entry.id] = kept
    if to_make:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for video, made in zip(
                to_make,
                pool.map(lambda one: make_poster(one, layout, ffmpeg), to_make),
                strict=True,
            ):
                posters[video.entry_id] = made
    return {e.id: posters[e.id] for e in manifest.entries if e.id in posters}


def poster_frame(
    subject: str, video: Path, target: Path, video_sha256: str, *, ffmpeg: str | None = None
) -> Poster | FrameFailure:
    """Write `target`, a poster of `video` (whose sha256 the caller knows), unless the one
    there already shows this video."""
    key = _key(video_sha256)
    if _comment(target) == key:
        return Poster(subject, target, made=False, video_sha256=video_sha256)
    frame = _read_frame(subject, video, ffmpeg)
    if isinstance(frame, FrameFailure):
        return frame
    problem = _save_jpeg(frame, target, POSTER_BOX, key)
    if problem is not None:
        return FrameFailure(subject, problem)
    return Poster(subject, target, made=True, video_sha256=video_sha256)


def input_thumbnails(
    layout: OutputLayout, entry: Entry, known: dict[Path, Thumbnail | FrameFailure] | None = None
) -> tuple[Thumbnail | FrameFailure, ...]:
    """A thumbnail of each local image `entry` sends (first and last frames, references), in
    `<output>/_thumbnails/`, named by content hash: a file used by many entries is shrunk once.
    `known` remembers the answers of one pass over many entries, so each file is read once."""
    found: list[Thumbnail | FrameFailure] = []
    for media in entry.local_media:
        if media.type.is_video or media.path is None:
            continue
        if known is not None and media.path in known:
            found.append(known[media.path])
            continue
        thumbnail = image_thumbnail(media.path, layout.folder / THUMBNAIL_DIR)
        if known is not None:
            known[media.path] = thumbnail
        found.append(thumbnail)
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


def _kept_poster(video: DoneVideo, target: Path) -> Poster | FrameFailure | None:
    """The poster already on disk for `video`, a failure if the video is not the recorded one
    any more, or None when a poster must be made."""
    try:
        stat = video.path.stat()
    except FileNotFoundError:
        return FrameFailure(video.entry_id, f"{video.path.name} is missing")
    except OSError as problem:
        return FrameFailure(video.entry_id, f"cannot read the video: {problem}")
    key = _key(video.sha256)
    shown = _comment(target)
    if stat.st_size == video.size and shown == key and _newer(target, stat.st_mtime_ns):
        # Not touched since its poster was made from the recorded bytes: no need to hash it.
        return Poster(video.entry_id, target, made=False, video_sha256=video.sha256)
    try:
        sha256 = sha256_file(video.path) if stat.st_size == video.size else ""
    except OSError as problem:
        return FrameFailure(video.entry_id, f"cannot read the video: {problem}")
    if sha256 != video.sha256:
        # Not the render the runner verified: the report shows no picture of it, and a poster
        # of the render it replaced would mislead.
        target.unlink(missing_ok=True)
        return FrameFailure(
            video.entry_id, f"{video.path.name} no longer matches its recorded sha256"
        )
    if shown == key:  # the same bytes, copied or touched: the poster still shows them
        os.utime(target)
        return Poster(video.entry_id, target, made=False, video_sha256=video.sha256)
    return None


def make_poster(
    video: DoneVideo, layout: OutputLayout, ffmpeg: str | None = None
) -> Poster | FrameFailure:
    """Write the poster of `video` (as recorded), whatever is there."""
    target = layout.entry_dir(video.entry_id) / POSTER_FILE
    frame = _read_frame(video.entry_id, video.path, ffmpeg)
    if isinstance(frame, FrameFailure):
        return FrameFailure(video.entry_id, frame.reason, video_ok=True)
    problem = _save_jpeg(frame, target, POSTER_BOX, _key(video.sha256))
    if problem is not None:
        return FrameFailure(video.entry_id, problem, video_ok=True)
    return Poster(video.entry_id, target, made=True, video_sha256=video.sha256)


def _read_frame(subject: str, video: Path, ffmpeg: str | None) -> Image.Image | FrameFailure:
    executable = ffmpeg or ffmpeg_executable()
    if isinstance(executable, FrameFailure):
        return FrameFailure(subject, executable.reason)
    # Frames nothing refers to (most B-frames) are never decoded: the seek to the frame shown
    # goes faster, and the picture is the same or a neighbour's. Sound is not opened at all.
    decode = ["-threads", "1", "-skip_frame", "noref"]
    # A seek past the end (a clip shorter than FRAME_AT_SECONDS) decodes nothing and exits 0:
    # then the first frame will do.
    for seek in (("-ss", f"{FRAME_AT_SECONDS:g}"), ()):
        command = [executable, "-hide_banner", "-loglevel", "error", "-nostdin", *decode, *seek]
        command += ["-an", "-sn", "-dn", "-i", str(video), "-frames:v", "1", "-vf", _FIT]
        command += ["-f", "image2pipe", "-c:v", "bmp", "-"]
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
    # A name of this writer's own: `kling-batch report` may make a poster while the run that
    # holds the output makes the same one.
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(temporary, "JPEG", quality=85, comment=comment.encode())
        os.replace(temporary, target)
    except OSError as problem:
        return f"cannot write {target.name}: {problem.strerror or problem}"
    finally:
        temporary.unlink(missing_ok=True)
    return None


def _key(video_sha256: str) -> str:
    return f"{_RECIPE} video-sha256={video_sha256}"


def _newer(path: Path, than_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= than_ns
    except OSError:
        return False


def _comment(path: Path) -> str | None:
    """The JPEG comment of `path` (its last COM segment before the pixels, as Pillow reads it),
    or None. Read from the header's bytes alone: a report asks it of every done entry's
    poster, and opening each with Pillow cost a 10,000-entry report a second."""
    try:
        head = read_bytes(path, _HEADER_BYTES)
    except OSError:
        return None
    if not head.startswith(b"\xff\xd8"):
        return None  # not a JPEG
    comment: bytes | None = None
    framed = False  # a frame header seen: a picture Pillow would open
    at = 2
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            return None  # not a marker where one must be: damaged
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xDA:  # start of scan: every comment comes before it
            if not framed:
                return None
            return None if comment is None else comment.decode(errors="replace")
        length = int.from_bytes(head[at + 2 : at + 4], "big")
        if at + 2 + length > len(head):
            return None  # cut short
        if marker == 0xFE:
            comment = head[at + 4 : at + 2 + length]
        framed = framed or marker in _FRAME_MARKERS
        at += 2 + length
    return None  # no picture after the header: cut short


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no reason given"
