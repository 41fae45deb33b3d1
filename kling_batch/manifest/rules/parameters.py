"""Rules about the request's parameters that depend on the media: audio and aspect_ratio."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest.model import MediaType
from kling_batch.manifest.rules.core import Finding, Subject


def audio_with_video(s: Subject) -> Iterator[Finding]:
    """audio must be false with a base or feature video."""
    if s.entry.audio and s.inputs is not None and s.inputs.has_video:
        yield Finding(
            ("audio",),
            "audio must be false with a base or feature video; to keep that video's sound, "
            "set keep_original_sound: true on it",
        )


def aspect_ratio_needed(s: Subject) -> Iterator[Finding]:
    """aspect_ratio is required when no first frame or base video gives the shape."""
    inputs = s.inputs
    if s.entry.aspect_ratio is None and inputs is not None and inputs.uses_aspect_ratio:
        need = "need" if inputs.plural else "needs"
        yield Finding(
            ("aspect_ratio",),
            f'{inputs.name} {need} an aspect_ratio: "16:9", "9:16" or "1:1" '
            "(set it on the entry or under defaults)",
        )


def aspect_ratio_ignored(s: Subject) -> Iterator[Finding]:
    """aspect_ratio is not used with a first frame or a base video."""
    inputs = s.inputs
    if s.entry.aspect_ratio is not None and inputs is not None and not inputs.uses_aspect_ratio:
        base = any(m.type is MediaType.BASE for m in s.entry.media)
        yield Finding(
            ("aspect_ratio",),
            f"not used with {inputs.name}: the {'base video' if base else 'first frame'} gives "
            "the shape; remove it (it is still sent, so changing it would render the entry again)",
        )
