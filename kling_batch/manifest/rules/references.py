"""Rules about <<<image_N>>>, <<<video_N>>> and <<<element_N>>> references in prompts."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import Entry, MediaType
from kling_batch.manifest.nodes import FieldPath
from kling_batch.manifest.rules.core import Finding, Subject
from kling_batch.manifest.shape_messages import counted, listed

IMAGE_TYPES = (MediaType.FIRST_FRAME, MediaType.LAST_FRAME, MediaType.REFER)
VIDEO_TYPES = (MediaType.FEATURE, MediaType.BASE)


def references_exist(s: Subject) -> Iterator[Finding]:
    """<<<image_N>>>, <<<video_N>>> and <<<element_N>>> point at media and elements that exist."""
    entry = s.entry
    if s.model is None or not s.model.prompt_references:
        return  # such a model reads them as text: KB218 says so
    available = {
        "image": sum(1 for m in entry.media if m.type in IMAGE_TYPES),
        "video": sum(1 for m in entry.media if m.type in VIDEO_TYPES),
        "element": len(entry.element_ids),
    }
    for at, text in _prompts(entry):
        if "<<<" not in text:
            continue
        for match in cap.REFERENCE.finditer(text):
            kind, number = match.group(1), int(match.group(2))
            count = available[kind]
            if not 1 <= number <= count:
                yield Finding(at, f"{match.group()} points at nothing: {_have(kind, count)}")


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
    """Only models that read <<<...>>> references (omni) place media by them."""
    model = s.model
    if model is None or model.prompt_references:
        return
    for at, text in _prompts(s.entry):
        if "<<<" in text and cap.REFERENCE.search(text):
            readers = [f"`model: {m.label}`" for m in s.table.models if m.prompt_references]
            advice = f"; use {listed(readers, 'or')}" if readers else ""
            yield Finding(at, f"the {model.label} model reads <<<...>>> as plain text{advice}")
            return


def _have(kind: str, count: int) -> str:
    """What the entry has of `kind`, and the references that would point at it."""
    if kind == "element":
        if not count:
            return "the entry has no element_list"
        have = f"element_list has {counted(count, 'element')}"
    else:
        have = f"media has {counted(count, kind)}"
        if kind == "image":
            have += " (first_frame, last_frame and refer items)"
        if not count:
            return have
    span = f"{kind}_1" if count == 1 else f"{kind}_1 to {kind}_{count}"
    return f"{have}; use {span}"


def _prompts(entry: Entry) -> Iterator[tuple[FieldPath, str]]:
    if entry.prompt is not None:
        yield ("prompt",), entry.prompt
    for index, shot in enumerate(entry.multi_prompt):
        yield ("multi_prompt", index, "prompt"), shot.prompt
