"""Rules about <<<image_N>>>, <<<video_N>>> and <<<element_N>>> references in prompts."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import Entry, MediaType
from kling_batch.manifest.nodes import FieldPath
from kling_batch.manifest.rules.core import Finding, Subject

IMAGE_TYPES = (MediaType.FIRST_FRAME, MediaType.LAST_FRAME, MediaType.REFER)
VIDEO_TYPES = (MediaType.FEATURE, MediaType.BASE)


def references_exist(s: Subject) -> Iterator[Finding]:
    """<<<image_N>>>, <<<video_N>>> and <<<element_N>>> point at media and elements that exist."""
    entry = s.entry
    if not s.omni:
        return  # the standard model reads them as text: KB218 says so
    available = {
        "image": sum(1 for m in entry.media if m.type in IMAGE_TYPES),
        "video": sum(1 for m in entry.media if m.type in VIDEO_TYPES),
        "element": len(entry.element_ids),
    }
    where = {"image": "images in media", "video": "videos in media", "element": "element_list"}
    for at, text in _prompts(entry):
        if "<<<" not in text:
            continue
        for match in cap.REFERENCE.finditer(text):
            kind, number = match.group(1), int(match.group(2))
            count = available[kind]
            if not 1 <= number <= count:
                have = (
                    f"there are {count} {where[kind]}" if count else f"there are no {where[kind]}"
                )
                valid = f"; use {kind}_1 to {kind}_{count}" if count else ""
                yield Finding(at, f"{match.group()} points at nothing: {have}{valid}")


def reference_syntax(s: Subject) -> Iterator[Finding]:
    """Text in <<< >>> that is not a valid reference is sent as it is."""
    for at, text in _prompts(s.entry):
        if "<<<" not in text:
            continue
        for match in cap.REFERENCE_LIKE.finditer(text):
            if not cap.REFERENCE.fullmatch(match.group()):
                yield Finding(
                    at,
                    f"{match.group()} is not a reference; write <<<image_N>>>, <<<video_N>>> or "
                    "<<<element_N>>> with N from 1",
                )


def references_on_standard(s: Subject) -> Iterator[Finding]:
    """Only the omni model reads <<<...>>> references."""
    if s.omni:
        return
    for at, text in _prompts(s.entry):
        if "<<<" in text and cap.REFERENCE.search(text):
            yield Finding(at, "the standard model reads <<<...>>> as plain text; use model: omni")
            return


def _prompts(entry: Entry) -> Iterator[tuple[FieldPath, str]]:
    if entry.prompt is not None:
        yield ("prompt",), entry.prompt
    for index, shot in enumerate(entry.multi_prompt):
        yield ("multi_prompt", index, "prompt"), shot.prompt
