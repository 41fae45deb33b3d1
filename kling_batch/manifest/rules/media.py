"""Rules about media items: which model takes them, how they combine, what they carry."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import Media
from kling_batch.manifest.rules.core import Finding, Subject
from kling_batch.manifest.rules.models import needs_a_model, takes_media

_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v", ".flv", ".wmv"})


def media_type_needs_omni(s: Subject) -> Iterator[Finding]:
    """The model takes each media type: refer, feature and base need the omni model."""
    model = s.model
    if model is None or s.inputs is None:
        return
    for index, media in enumerate(s.entry.media):
        if media.type not in model.takes:
            yield Finding(
                ("media", index, "type"),
                f"{media.type} media {needs_a_model(s.table, media.type)} ({takes_media(model)})",
            )


def media_combination(s: Subject) -> Iterator[Finding]:
    """The media types must form a combination the service accepts."""
    if s.inputs is not None:
        return
    written = " + ".join(_counted(s.entry.media)) + (" alone" if len(s.entry.media) == 1 else "")
    yield Finding(
        ("media",),
        f"{written} is not a combination the service accepts; valid: "
        f"{cap.valid_combinations(s.table)}",
    )


def keep_original_sound_placement(s: Subject) -> Iterator[Finding]:
    """keep_original_sound belongs on base and feature videos only."""
    for index, media in enumerate(s.entry.media):
        if media.keep_original_sound is not None and not media.type.is_video:
            yield Finding(
                ("media", index, "keep_original_sound"),
                f"keep_original_sound is for base and feature videos, not {media.type}; remove it",
            )


def url_looks_right(s: Subject) -> Iterator[Finding]:
    """A media URL whose file name says it is the wrong kind of file."""
    for index, media in enumerate(s.entry.media):
        if media.url is None:
            continue
        suffix = PurePosixPath(urlsplit(media.url).path).suffix.lower()
        if media.type.is_video:
            wrong = suffix in _IMAGE_SUFFIXES or (
                suffix in _VIDEO_SUFFIXES and suffix not in cap.VIDEO_EXTENSIONS
            )
            wanted = "an mp4 or mov video"
        else:
            wrong = suffix in _VIDEO_SUFFIXES or (
                suffix in _IMAGE_SUFFIXES and suffix not in cap.IMAGE_EXTENSIONS
            )
            wanted = "a JPEG or PNG image"
        if wrong:
            yield Finding(
                ("media", index, "url"),
                f"this looks like a {suffix} file, but {media.type} takes {wanted}",
            )


def _counted(media: Sequence[Media]) -> list[str]:
    """The media's types, each once, with how many items it has when more than one."""
    counts: dict[str, int] = {}
    for item in media:
        counts[item.type] = counts.get(item.type, 0) + 1
    return [f"{n} {t} items" if n > 1 else str(t) for t, n in counts.items()]
