"""Rules about local media files (media items with `path:`), against the service's limits.

Facts come from `MediaInspector`, which reads each file once however many entries use it. These
rules run only for entries that have local media.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.media_files import VideoStream
from kling_batch.manifest.model import Media
from kling_batch.manifest.rules.core import Finding, Subject


def _local(s: Subject, video: bool) -> Iterator[tuple[int, Media, Path]]:
    """The entry's readable local files of one kind, with their index in media."""
    for index, media in enumerate(s.entry.media):
        path = media.path
        if path is not None and media.type.is_video is video and not s.files.file(path).problem:
            yield index, media, path


def local_file_readable(s: Subject) -> Iterator[Finding]:
    """A local media file exists and can be read."""
    for index, media in enumerate(s.entry.media):
        if media.path is not None:
            problem = s.files.file(media.path).problem
            if problem is not None:
                yield Finding(("media", index, "path"), f"{media.path}: {problem}")


def image_format(s: Subject) -> Iterator[Finding]:
    """Local images are JPEG or PNG."""
    for index, media, path in _local(s, video=False):
        found = s.files.image(path).format
        if found not in cap.IMAGE_FORMATS:
            shown = f"a {found} image" if found else "not an image Pillow can read"
            yield Finding(
                ("media", index, "path"),
                f"{media.type} takes a JPEG or PNG image; this file is {shown}",
            )


def image_alpha(s: Subject) -> Iterator[Finding]:
    """Local images have no transparency (alpha channel)."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format in cap.IMAGE_FORMATS and image.alpha:
            yield Finding(
                ("media", index, "path"),
                "the image has transparency (an alpha channel), which the service refuses; "
                "save it as a JPEG, or as a PNG without alpha",
            )


def image_sides(s: Subject) -> Iterator[Finding]:
    """Local images are 300 to 8000 px on each side."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format not in cap.IMAGE_FORMATS:
            continue
        low, high = cap.IMAGE_SIDE_MIN, cap.IMAGE_SIDE_MAX
        if not (low <= image.width <= high and low <= image.height <= high):
            yield Finding(
                ("media", index, "path"),
                f"the image is {image.width}x{image.height} px; each side must be {low} to "
                f"{high} px",
            )


def image_aspect(s: Subject) -> Iterator[Finding]:
    """Local images have an aspect ratio between 1:2.5 and 2.5:1."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format not in cap.IMAGE_FORMATS or not image.width or not image.height:
            continue
        ratio = max(image.width, image.height) / min(image.width, image.height)
        if ratio > cap.IMAGE_RATIO_MAX:
            yield Finding(
                ("media", index, "path"),
                f"the image is {image.width}x{image.height} px, {ratio:.2f}:1; the aspect ratio "
                "must be between 1:2.5 and 2.5:1",
            )


def image_bytes(s: Subject) -> Iterator[Finding]:
    """Local images are at most 10 MB."""
    for index, _, path in _local(s, video=False):
        size = s.files.file(path).size
        if size > cap.IMAGE_BYTES_MAX:
            yield Finding(
                ("media", index, "path"),
                f"the image is {_megabytes(size)}; images are limited to "
                f"{_megabytes(cap.IMAGE_BYTES_MAX)}",
            )


def video_container(s: Subject) -> Iterator[Finding]:
    """Local videos are mp4 or mov files."""
    for index, media, path in _local(s, video=True):
        video = s.files.video(path)
        if path.suffix.lower() not in cap.VIDEO_EXTENSIONS or not video.movie_container:
            yield Finding(
                ("media", index, "path"),
                f"{media.type} takes an mp4 or mov video; this file is not one",
            )
        elif video.probe_error is not None:
            yield Finding(
                ("media", index, "path"), f"the video cannot be read: {video.probe_error}"
            )


def video_bytes(s: Subject) -> Iterator[Finding]:
    """Local videos are at most 100 MB: the service takes 200 MB, its upload 100 MB."""
    for index, _, path in _local(s, video=True):
        size = s.files.file(path).size
        if size > cap.UPLOAD_BYTES_MAX:
            limit = (
                f"videos are limited to {_megabytes(cap.VIDEO_BYTES_MAX)}"
                if size > cap.VIDEO_BYTES_MAX
                else f"local files upload up to {_megabytes(cap.UPLOAD_BYTES_MAX)}; "
                "serve it from a URL instead"
            )
            yield Finding(("media", index, "path"), f"the video is {_megabytes(size)}; {limit}")


def _measured(s: Subject) -> Iterator[tuple[int, VideoStream]]:
    for index, _, path in _local(s, video=True):
        stream = s.files.video(path).stream
        if stream is not None:
            yield index, stream


def video_duration(s: Subject) -> Iterator[Finding]:
    """Local videos last 3 to 10 s."""
    low, high = cap.VIDEO_SECONDS_MIN, cap.VIDEO_SECONDS_MAX
    for index, stream in _measured(s):
        if stream.duration is not None and not low <= stream.duration <= high:
            yield Finding(
                ("media", index, "path"),
                f"the video lasts {stream.duration:.1f} s; it must last {low:g} to {high:g} s",
            )


def video_sides(s: Subject) -> Iterator[Finding]:
    """Local videos are 720 to 2160 px on each side."""
    low, high = cap.VIDEO_SIDE_MIN, cap.VIDEO_SIDE_MAX
    for index, stream in _measured(s):
        if stream.width is None or stream.height is None:
            continue
        if not (low <= stream.width <= high and low <= stream.height <= high):
            yield Finding(
                ("media", index, "path"),
                f"the video is {stream.width}x{stream.height} px; each side must be {low} to "
                f"{high} px",
            )


def video_fps(s: Subject) -> Iterator[Finding]:
    """Local videos run at 24 to 60 frames per second."""
    low, high = cap.VIDEO_FPS_MIN, cap.VIDEO_FPS_MAX
    for index, stream in _measured(s):
        if stream.fps is not None and not low <= stream.fps <= high:
            yield Finding(
                ("media", index, "path"),
                f"the video runs at {stream.fps:g} fps; it must run at {low:g} to {high:g} fps",
            )


def video_measured(s: Subject) -> Iterator[Finding]:
    """A local video could not be measured: neither PyAV nor ffprobe is installed."""
    for index, _, path in _local(s, video=True):
        video = s.files.video(path)
        if video.movie_container and video.stream is None and video.probe_error is None:
            yield Finding(
                ("media", index, "path"),
                "duration, size and frame rate not checked: install PyAV (pip install av) or "
                "ffprobe (FFmpeg) to check them before spending money",
            )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
