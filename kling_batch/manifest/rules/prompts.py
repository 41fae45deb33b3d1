"""Rules about prompts: where one is needed, where it is ignored, and how long it may be.

The service cuts a prompt past its limit and renders the rest, without an error: it runs, but
probably not as written, hence warnings (the schema sets no maxLength on prompts).
"""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import EntryKind, ShotType
from kling_batch.manifest.rules.core import Finding, Subject


def prompt_needed(s: Subject) -> Iterator[Finding]:
    """A prompt is needed, except by customize storyboards and by shots with a first frame on a
    model that reads no <<<...>>> references (standard)."""
    entry = s.entry
    if entry.prompt is not None:
        return
    if entry.kind is EntryKind.STORYBOARD:
        if entry.shot_type is ShotType.INTELLIGENCE:
            yield Finding(
                ("prompt",), "an intelligence storyboard needs a prompt to cut into shots"
            )
        return
    if s.inputs is cap.TEXT:
        yield Finding(("prompt",), "text-to-video needs a prompt")
    elif s.model is not None and s.model.prompt_references and s.inputs is not None:
        yield Finding(
            ("prompt",),
            f"the {s.model.label} model needs a prompt with {s.inputs.name}; say what to do with "
            "the media, e.g. <<<image_1>>> walks through the rain",
        )


def prompt_ignored(s: Subject) -> Iterator[Finding]:
    """The prompt of a customize storyboard is ignored: its shots have their own."""
    if s.entry.shot_type is ShotType.CUSTOMIZE and s.entry.prompt is not None:
        yield Finding(
            ("prompt",),
            "a customize storyboard renders the prompts of its shots and ignores this one; "
            "remove it (it is still sent)",
        )


def prompt_truncated(s: Subject) -> Iterator[Finding]:
    """A prompt over 2500 characters: the service keeps the first 2500."""
    prompt = s.entry.prompt
    if prompt is None or len(prompt) <= cap.PROMPT_MAX:
        return
    if s.entry.shot_type is ShotType.CUSTOMIZE:
        return  # a customize storyboard ignores its prompt: KB215 says so
    yield Finding(
        ("prompt",),
        f"the prompt is {len(prompt)} characters long; the service keeps the first "
        f"{cap.PROMPT_MAX} characters and silently drops the rest: shorten it to keep all of it",
    )


def shot_prompt_truncated(s: Subject) -> Iterator[Finding]:
    """A storyboard shot prompt over 512 characters: the service keeps the first 512."""
    for index, shot in enumerate(s.entry.multi_prompt):
        if len(shot.prompt) > cap.SHOT_PROMPT_MAX:
            yield Finding(
                ("multi_prompt", index, "prompt"),
                f"the shot prompt is {len(shot.prompt)} characters long; the service keeps the "
                f"first {cap.SHOT_PROMPT_MAX} characters and drops the rest: shorten it to keep "
                "all of it",
            )
