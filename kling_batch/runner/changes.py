"""What changed in an entry since its last render, in the manifest's own field names.

The fingerprint (`kling_batch.manifest.fingerprint`) says *whether* an entry changed; to say
*what* changed, the state store keeps the body that fingerprint hashed, and this module compares
it with the body the entry would give now.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kling_batch.manifest.model import Entry
from kling_batch.manifest.requests import content_hash, request_body

# A local file stands in the fingerprinted body as its content hash, not its temporary URL.
CONTENT_PREFIX = "sha256:"
OSS_PREFIX = "oss://"
# Request body fields under another name in the manifest.
_MANIFEST_NAMES = {"multi_shot": "storyboard"}


def fingerprint_body(entry: Entry) -> dict[str, Any]:
    """The body `fingerprint(entry)` hashes: the request body, each local file's URL replaced
    by `sha256:<its content hash>`, so that uploading a file again changes nothing."""
    stand_ins: dict[Path, str] = {}
    for media in entry.local_media:
        assert media.path is not None
        stand_ins[media.path] = CONTENT_PREFIX + content_hash(media.path)
    return request_body(entry, stand_ins)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The manifest fields whose value differs between two fingerprinted bodies, in body order:
    `prompt`, `duration`, `media[2].url`, `media[1] (file content)`, `multi_prompt[3].prompt`...

    A media URL that was a temporary `oss://` URL before (the exact body sent, when no
    fingerprinted body was kept) cannot be compared with a local file and counts as the same.
    """
    changes: list[str] = []
    for section in ("model", "input", "parameters"):
        old, new = before.get(section), after.get(section)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            for name in _ordered_keys(old, new):
                shown = _MANIFEST_NAMES.get(name, name)
                changes.extend(_differences(shown, old.get(name), new.get(name)))
        elif old != new:
            changes.append(section)
    return tuple(changes)


def _differences(path: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found: list[str] = []
        for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
            found.extend(_differences(f"{path}[{number}]", a, b))
        return found
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        if _both_local(old.get("url"), new.get("url")) and _without_url(old) == _without_url(new):
            return [f"{path} (file content)"]
        found = []
        for name in _ordered_keys(old, new):
            if name == "url" and _same_file_url(old.get(name), new.get(name)):
                continue
            found.extend(_differences(f"{path}.{name}", old.get(name), new.get(name)))
        return found
    return [path]


def _ordered_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys([*new, *old]))


def _without_url(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "url"}


def _both_local(old: Any, new: Any) -> bool:
    return (
        isinstance(old, str)
        and isinstance(new, str)
        and old.startswith(CONTENT_PREFIX)
        and new.startswith(CONTENT_PREFIX)
    )


def _same_file_url(old: Any, new: Any) -> bool:
    """An old temporary URL beside a local file: the body sent cannot say whose content it was."""
    return (
        isinstance(old, str)
        and isinstance(new, str)
        and old.startswith(OSS_PREFIX)
        and new.startswith(CONTENT_PREFIX)
    )
