"""Rules about how long a render lasts: the entry's duration, and a storyboard's shots."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import EntryKind, ShotType, StoryboardShot
from kling_batch.manifest.rules.core import Finding, Subject
from kling_batch.manifest.shape_messages import counted, plural


def duration_range(s: Subject) -> Iterator[Finding]:
    """duration is 3 to 15 s, 3 to 10 s with a base or feature video."""
    duration = s.entry.duration
    if duration is None:
        return
    video = s.inputs is not None and s.inputs.has_video
    high = cap.DURATION_MAX_WITH_VIDEO if video else cap.DURATION_MAX
    if cap.DURATION_MIN <= duration <= high:
        return
    derived = s.entry.kind is EntryKind.STORYBOARD and not s.written("duration")
    what = _shots_last(s.entry.multi_prompt, duration) if derived else f"{duration} s"
    why = " with a base or feature video" if video else ""
    yield Finding(
        ("multi_prompt",) if derived else ("duration",),
        f"{what}; the duration must be {cap.DURATION_MIN} to {high} s{why}",
    )


def storyboard_durations(s: Subject) -> Iterator[Finding]:
    """The shots of a customize storyboard last 1 s or more and add up to its duration."""
    entry = s.entry
    if entry.shot_type is not ShotType.CUSTOMIZE or not entry.multi_prompt:
        return
    if entry.duration is None:
        return
    shots = entry.multi_prompt
    known = [shot.duration for shot in shots if shot.duration is not None]
    if len(known) < len(shots):
        missing = len(shots) - len(known)
        left = entry.duration - sum(known)
        timed = plural(len(known), "shot")
        taken = f", {sum(known)} s of it taken by the {timed} with a duration" if known else ""
        rest = f"{left} s is" if left > 0 else "nothing is"
        each = " each" if missing > 1 else ""
        yield Finding(
            ("multi_prompt",),
            f"the storyboard lasts {entry.duration} s{taken}: {rest} left for "
            f"{counted(missing, 'shot')} without a duration, which "
            f"{plural(missing, 'needs', 'need')} at least 1 s{each}; lengthen the storyboard or "
            "shorten the shots",
        )
        return
    for index, shot in enumerate(shots):
        if shot.duration is not None and shot.duration > entry.duration:
            yield Finding(
                ("multi_prompt", index, "duration"),
                f"{shot.duration} s is longer than the storyboard's {entry.duration} s",
            )
    total = sum(known)
    if total != entry.duration:
        yield Finding(
            ("duration",) if s.written("duration") else ("multi_prompt",),
            f"{_shots_last(shots, total)} but the storyboard lasts {entry.duration} s; make them "
            "equal, or leave out the storyboard's duration to use the sum",
        )


def _shots_last(shots: tuple[StoryboardShot, ...], seconds: int) -> str:
    """How long the shots last together: "the shots add up to 12 s", or "its one shot lasts 2 s"."""
    if len(shots) == 1:
        return f"its one shot lasts {seconds} s"
    return f"the shots add up to {seconds} s"
