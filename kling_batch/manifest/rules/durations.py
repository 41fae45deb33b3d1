"""Rules about how long a render lasts: the entry's duration, and a storyboard's shots."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.model import EntryKind, ShotType
from kling_batch.manifest.rules.core import Finding, Subject, plural


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
    what = f"the shots add up to {duration} s" if derived else f"{duration} s"
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
        yield Finding(
            ("multi_prompt",),
            f"{entry.duration} s cannot give the {missing} shot{plural(missing)} without a "
            f"duration 1 s each after the {sum(known)} s of the others; lengthen the storyboard "
            "or shorten the shots",
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
            f"the shots add up to {total} s but the storyboard lasts {entry.duration} s; make them "
            "equal, or leave out the storyboard's duration to use the sum",
        )
