"""Poster frames of the done videos, and thumbnails of local input images (spec §8).

    posters = make_posters(layout, manifest, store)     # entry id -> Poster | FrameFailure

A poster is `<entry>/poster.jpg`: the last keyframe at or before a second into the clip,
fitted into POSTER_BOX. A keyframe decodes on its own, where the frame at exactly a second
would need every frame since the keyframe before it (three to four times the CPU); a clip with
one keyframe shows its first frame. It is decoded in this process by FFmpeg's libraries,
through PyAV (the `av` wheel bundles them: nothing installed on the system, no ffmpeg process
started per video); Pillow writes it. Each poster carries, in its JPEG comment, the sha256 of
the video it shows and the recipe that made it, so it is made once per video: a later report
reads only that comment (and, while the video is older than its poster, hashes nothing), and a
video rendered again gets a new one.

Frames are read a few at a time, on threads (PyAV lets go of the GIL while FFmpeg opens,
decodes and scales). Nothing here raises for a video it cannot read: the caller gets a
`FrameFailure` with the reason (and shows a placeholder), and the rest of the batch goes on.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from kling_batch.delivery.videos import DoneVideo, done_video
from kling_batch.hashing import sha256_file
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.report.folders import EntryFiles, ReportMemo
from kling_batch.runner.artifacts import OutputLayout, open_creating_folder, read_bytes
from kling_batch.runner.state import StateStore

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

POSTER_FILE = "poster.jpg"
POSTER_BOX = (640, 640)  # the longer side at most 640 px: sharp on a card, light in a page
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_DIR = "_thumbnails"  # entry ids start with a letter or digit, so this never collides
FRAME_AT_SECONDS = 1.0  # the keyframe shown is the last one at or before this
# A poster's header (JFIF, its comment, tables) lies well within this; a longer one is no poster.
_HEADER_BYTES = 64 * 1024
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0-SOF15
# Frames decoded at once: each on one thread (FFmpeg's own threads gain nothing on a lone
# keyframe), so this many cores, and no more than four (a report must not starve a machine
# that is rendering or serving something else).
FRAME_WORKERS = max(1, min(4, os.cpu_count() or 1))
_BOX = f"box={POSTER_BOX[0]}x{POSTER_BOX[1]}"
_RECIPE = f"kling-batch poster v3 keyframe<={FRAME_AT_SECONDS:g}s {_BOX}"
# Posters of earlier recipes that still show their video well enough to keep: v2 (the frame at
# FRAME_AT_SECONDS, read by the ffmpeg binary) is not made again after an upgrade.
_KEPT_RECIPES = (_RECIPE, f"kling-batch poster v2 at={FRAME_AT_SECONDS:g}s {_BOX}")
# Opening a file, FFmpeg decodes its first frames to learn what the container already says
# (the pixel format, the reordering delay): as much CPU again as the poster's own frame, and
# for a 1080p render megabytes read. Its probing decoder skips every frame, and stops reading
# at once; the one decoder this module opens learns the rest from the keyframe.
_PROBE_DECODER = {"skip_frame": "all"}
_PROBE = {"probesize": "32"}
_JPEG_MODES = ("RGB", "RGBX")  # what Pillow writes as a colour JPEG without converting it
_TURNS = {  # a video's display rotation (degrees counterclockwise) as a Pillow transpose
    90: Image.Transpose.ROTATE_90,
    -90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    -180: Image.Transpose.ROTATE_180,
}


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
    workers: int = FRAME_WORKERS,
    files: EntryFiles | None = None,
    memo: ReportMemo | None = None,
) -> dict[str, Poster | FrameFailure]:
    """A poster for every done entry of `manifest` in `layout`, in manifest order; entries that
    are not done have none (and no key). `files` and `memo` (folders.py), when given, are
    shared with the rest of the report."""
    files = files or EntryFiles(layout)
    posters: dict[str, Poster | FrameFailure] = {}
    to_make: list[DoneVideo] = []
    for entry in manifest.entries:
        video = done_video(layout, store.get(entry.id))
        if video is None:
            continue
        # Beside the video (a name changed: cheaper than another path built from the folder).
        kept = _kept_poster(video, video.path.with_name(POSTER_FILE), files, memo)
        if kept is None:
            to_make.append(video)
        else:
            posters[entry.id] = kept
    if to_make:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for video, made in zip(
                to_make,
                pool.map(lambda one: make_poster(one, layout), to_make),
                strict=True,
            ):
                posters[video.entry_id] = made
    return {e.id: posters[e.id] for e in manifest.entries if e.id in posters}


def poster_frame(
    subject: str, video: Path, target: Path, video_sha256: str
) -> Poster | FrameFailure:
    """Write `target`, a poster of `video` (whose sha256 the caller knows), unless the one
    there already shows this video."""
    if _shows(_comment(target), video_sha256):
        return Poster(subject, target, made=False, video_sha256=video_sha256)
    frame = _read_frame(subject, video)
    if isinstance(frame, FrameFailure):
        return frame
    problem = _save_jpeg(frame, target, POSTER_BOX, _key(video_sha256))
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


def _kept_poster(
    video: DoneVideo, target: Path, files: EntryFiles, memo: ReportMemo | None
) -> Poster | FrameFailure | None:
    """The poster already on disk for `video`, a failure if the video is not the recorded one
    any more, or None when a poster must be made."""
    stat = files.stat(video.entry_id, video.path.name)
    if isinstance(stat, FileNotFoundError):
        return FrameFailure(video.entry_id, f"{video.path.name} is missing")
    if isinstance(stat, OSError):
        return FrameFailure(video.entry_id, f"cannot read the video: {stat}")
    found = files.stat(video.entry_id, POSTER_FILE)
    poster = None if isinstance(found, OSError) else found
    comment = None
    if poster is not None and memo is None:
        comment = _comment(target)
    elif poster is not None and memo is not None:
        with contextlib.suppress(OSError):  # unreadable: no comment, as _comment says
            comment = memo.recall(
                video.entry_id,
                POSTER_FILE,
                poster,
                lambda: _header_comment(read_bytes(target, _HEADER_BYTES)),
                str,
            )
    shows = _shows(comment, video.sha256)
    if (
        stat.st_size == video.size
        and shows
        and poster is not None
        and poster.st_mtime_ns >= stat.st_mtime_ns
    ):
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
    if shows:  # the same bytes, copied or touched: the poster still shows them
        os.utime(target)
        return Poster(video.entry_id, target, made=False, video_sha256=video.sha256)
    return None


def make_poster(video: DoneVideo, layout: OutputLayout) -> Poster | FrameFailure:
    """Write the poster of `video` (as recorded), whatever is there."""
    target = layout.entry_dir(video.entry_id) / POSTER_FILE
    frame = _read_frame(video.entry_id, video.path)
    if isinstance(frame, FrameFailure):
        return FrameFailure(video.entry_id, frame.reason, video_ok=True)
    problem = _save_jpeg(frame, target, POSTER_BOX, _key(video.sha256))
    if problem is not None:
        return FrameFailure(video.entry_id, problem, video_ok=True)
    return Poster(video.entry_id, target, made=True, video_sha256=video.sha256)


def _read_frame(subject: str, video: Path) -> Image.Image | FrameFailure:
    """The poster's picture of `video`: its keyframe (see the module's docstring), fitted into
    POSTER_BOX and turned upright."""
    try:
        # Imported here: loading FFmpeg's libraries takes a quarter of a second, which only a
        # report that makes a poster should pay.
        import av
    except ImportError:
        return FrameFailure(subject, "the av package (PyAV), which reads the frames, is missing")
    try:
        with av.open(str(video), options=_PROBE_DECODER, container_options=_PROBE) as container:
            if not container.streams.video:
                return FrameFailure(subject, "the video has no picture to show")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # one frame: see FRAME_WORKERS
            if stream.time_base is not None:
                at = (stream.start_time or 0) + int(FRAME_AT_SECONDS / stream.time_base)
                # No keyframe before it, or not seekable: the first keyframe will do.
                with contextlib.suppress(av.FFmpegError):
                    container.seek(at, stream=stream, backward=True)
            frame: VideoFrame | None = None
            for packet in container.demux(stream):
                if packet.is_keyframe and packet.size:
                    # That packet alone, then the end of the stream: the decoder hands its
                    # frame over at once, where decoding on (even skipping) would read the
                    # rest of the file for the frames it holds back to reorder.
                    frames = stream.decode(packet) or stream.decode(None)
                    frame = frames[0] if frames else None
                    break
            if frame is None:
                return FrameFailure(subject, "the video has no frame to show")
            picture = _fitted(frame)
    except (av.FFmpegError, OSError) as problem:
        return FrameFailure(subject, f"ffmpeg cannot read the video: {problem.strerror}")
    turn = _TURNS.get(round(frame.rotation))
    return picture.transpose(turn) if turn is not None else picture


def _fitted(frame: VideoFrame) -> Image.Image:
    """`frame` fitted into POSTER_BOX (a square, so a turn after it still fits), never enlarged.
    FFmpeg's area scaler shrinks the planes as decoded, a few times faster than converting the
    whole frame for Pillow to shrink; into four bytes a pixel, which Pillow then uses in place
    (three would be copied) and writes as a JPEG as they are."""
    scale = min(POSTER_BOX[0] / frame.width, POSTER_BOX[1] / frame.height, 1.0)
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    rgbx = frame.reformat(
        width=width, height=height, format="rgb0", interpolation="AREA", threads=1
    )
    plane = rgbx.planes[0]
    # A buffer, which Pillow maps; its stub names only bytes and array-interface types.
    pixels: Any = memoryview(plane)
    return Image.frombuffer("RGBX", (width, height), pixels, "raw", "RGBX", plane.line_size, 1)


def _save_jpeg(
    picture: Image.Image, target: Path, box: tuple[int, int], comment: str
) -> str | None:
    """Scale `picture` into `box` and write it as a JPEG through a temporary name; None when
    written, else why not."""
    if picture.mode not in _JPEG_MODES:
        picture = picture.convert("RGB")
    picture.thumbnail(box, Image.Resampling.LANCZOS)
    # A name of this writer's own: `kling-batch report` may make a poster while the run that
    # holds the output makes the same one.
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    # Into a file opened here (its folder made only if missing), the temporary removed only
    # after a failure: Pillow given a path stats it twice first, and a run makes a poster per
    # video, so the calls it spares count.
    try:
        with open_creating_folder(temporary, "wb") as handle:
            picture.save(handle, "JPEG", quality=85, comment=comment.encode())
        os.replace(temporary, target)
    except OSError as problem:
        temporary.unlink(missing_ok=True)
        return f"cannot write {target.name}: {problem.strerror or problem}"
    return None


_SHA256_MARK = " video-sha256="


def _key(video_sha256: str, recipe: str = _RECIPE) -> str:
    return f"{recipe}{_SHA256_MARK}{video_sha256}"


def _shows(comment: str | None, video_sha256: str) -> bool:
    """Whether a poster with `comment` shows the video of `video_sha256` by a kept recipe."""
    if comment is None:
        return False
    # `_key` taken apart (a recipe has no " video-sha256=", a sha256 none at all): asked of
    # every poster of a report.
    recipe, marked, sha256 = comment.rpartition(_SHA256_MARK)
    return bool(marked) and sha256 == video_sha256 and recipe in _KEPT_RECIPES


def _comment(path: Path) -> str | None:
    """The JPEG comment of `path` (its last COM segment before the pixels, as Pillow reads it),
    or None. Read from the header's bytes alone: a report asks it of every done entry's
    poster, and opening each with Pillow cost a 10,000-entry report a second."""
    try:
        return _header_comment(read_bytes(path, _HEADER_BYTES))
    except OSError:
        return None


def _header_comment(head: bytes) -> str | None:
    """The JPEG comment in `head`, a file's first bytes (see `_comment`)."""
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
