"""Rules about element_list: how many subjects an entry may reference with its media."""

from __future__ import annotations

from collections.abc import Iterator

from kling_batch.manifest.model import MediaType
from kling_batch.manifest.nodes import FieldPath
from kling_batch.manifest.rules.core import Finding, Subject
from kling_batch.manifest.shape_messages import counted


def reference_limit(s: Subject) -> Iterator[Finding]:
    """refer images + elements stay within 7, or 4 with a feature or base video."""
    limit = s.inputs.reference_limit if s.inputs else None
    refer = sum(1 for m in s.entry.media if m.type is MediaType.REFER)
    elements = len(s.entry.element_ids)
    if limit is None or refer + elements <= limit:
        return
    at: FieldPath = ("element_list",) if elements else ("media",)
    parts = [counted(refer, "refer image")] if refer else []
    parts += [counted(elements, "element")] if elements else []
    both = len(parts) > 1
    total = f" = {refer + elements}" if both else ""
    name = s.inputs.name if s.inputs else "these inputs"
    yield Finding(
        at,
        f"{' + '.join(parts)}{total}; with {name} the limit is {limit}"
        + (" for the two together" if both else ""),
    )


def element_limit(s: Subject) -> Iterator[Finding]:
    """At most 3 elements with a first frame."""
    limit = s.inputs.element_limit if s.inputs else None
    count = len(s.entry.element_ids)
    if limit is not None and count > limit:
        yield Finding(
            ("element_list",),
            f"{counted(count, 'element')}; with a first frame the limit is {limit}",
        )
