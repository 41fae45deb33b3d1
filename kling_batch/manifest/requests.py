"""Entry -> the exact JSON body `run` POSTs to DashScope, and the fingerprint that names it.

A body carries what the entry sets (itself or through defaults) and nothing else: a field the
user did not set is left to the service's default, so that the body, and with it the
fingerprint, only changes when the manifest does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from kling_batch.hashing import sha256_file, sha256_json
from kling_batch.manifest.model import Entry, EntryKind, Media


def request_body(entry: Entry, uploaded: Mapping[Path, str] | None = None) -> dict[str, Any]:
    """The body for `POST .../video-synthesis`.

    A local media item's url is `uploaded[path]`, its temporary oss:// URL; a local file missing
    from `uploaded` raises KeyError (upload it first).
    """
    uploads = uploaded or {}

    def url(media: Media) -> str:
        if media.url is not None:
            return media.url
        assert media.path is not None
        return uploads[media.path]

    return _body(entry, url)


def fingerprint(entry: Entry) -> str:
    """sha256 hex of the canonical body, with each local file's URL replaced by its content hash.

    Editing a local image changes the fingerprint; uploading it again (a new oss:// URL) does not.
    """

    def url(media: Media) -> str:
        if media.url is not None:
            return media.url
        assert media.path is not None
        return "sha256:" + content_hash(media.path)

    return sha256_json(_body(entry, url))


def content_hash(path: Path) -> str:
    """sha256 hex of a file, computed once per version of the file (size and mtime)."""
    stat = os.stat(path)
    return _hash(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=1024)
def _hash(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def _body(entry: Entry, url: Callable[[Media], str]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if entry.prompt is not None:
        inputs["prompt"] = entry.prompt
    if entry.negative_prompt is not None:
        inputs["negative_prompt"] = entry.negative_prompt
    if entry.media:
        inputs["media"] = [_media(media, url) for media in entry.media]
    if entry.kind is EntryKind.STORYBOARD:
        inputs["multi_shot"] = True
        if entry.shot_type is not None:
            inputs["shot_type"] = entry.shot_type.value
        if entry.multi_prompt:
            inputs["multi_prompt"] = [
                {"index": index, "prompt": shot.prompt}
                | ({"duration": shot.duration} if shot.duration is not None else {})
                for index, shot in enumerate(entry.multi_prompt, start=1)
            ]
    if entry.element_ids:
        inputs["element_list"] = [{"element_id": element} for element in entry.element_ids]
    parameters = {
        name: value
        for name, value in (
            ("mode", entry.mode.value if entry.mode is not None else None),
            ("aspect_ratio", entry.aspect_ratio),
            ("duration", entry.duration),
            ("audio", entry.audio),
            ("watermark", entry.watermark),
        )
        if value is not None
    }
    return {"model": entry.model, "input": inputs, "parameters": parameters}


def _media(media: Media, url: Callable[[Media], str]) -> dict[str, Any]:
    item: dict[str, Any] = {"type": media.type.value, "url": url(media)}
    if media.keep_original_sound is not None:
        item["keep_original_sound"] = "yes" if media.keep_original_sound else "no"
    return item
