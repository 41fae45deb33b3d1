"""Rules about how a storyboard is cut: its shot_type, and whether it lists its shots."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest.model import EntryKind, ShotType
from kling_batch.manifest.rules.core import Finding, Subject


def storyboard_shot_type(s: Subject) -> Iterator[Finding]:
    """A storyboard says how it is cut: shot_type customize or intelligence."""
    entry = s.entry
    if entry.kind is EntryKind.STORYBOARD and entry.shot_type is None:
        suggestion = ShotType.CUSTOMIZE if entry.multi_prompt else ShotType.INTELLIGENCE
        yield Finding(
            ("shot_type",),
            f"a storyboard needs a shot_type: customize (shots listed in multi_prompt) or "
            f"intelligence (the model cuts the prompt); here probably `shot_type: {suggestion}`",
        )


def storyboard_shot_list(s: Subject) -> Iterator[Finding]:
    """customize storyboards list their shots in multi_prompt; intelligence ones do not."""
    entry = s.entry
    if entry.shot_type is ShotType.CUSTOMIZE and not entry.multi_prompt:
        yield Finding(
            ("multi_prompt",), "a customize storyboard lists 1 to 6 shots in multi_prompt"
        )
    elif entry.shot_type is ShotType.INTELLIGENCE and entry.multi_prompt:
        yield Finding(
            ("multi_prompt",),
            "an intelligence storyboard cuts its prompt into shots itself; remove multi_prompt, "
            "or use shot_type: customize",
        )
