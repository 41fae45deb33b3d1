"""Rules over the manifest as a whole: ids and the name, which name output folders, and
whether there is anything to render."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from kling_batch.manifest.nodes import SequenceNode
from kling_batch.manifest.normalize import Located
from kling_batch.manifest.rules.core import Finding, WholeManifest
from kling_batch.manifest.schema import schema


def unique_ids(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """Entry ids are unique across shots and storyboards."""
    first: dict[str, Located] = {}
    for item in _with_ids(m):
        seen = first.setdefault(item.entry.id, item)
        if seen is not item:
            line = seen.source.position.line
            yield (
                item,
                Finding(
                    ("id",),
                    f"the id {item.entry.id!r} is already used on line {line}; ids name output "
                    "folders and must be unique",
                ),
            )


def ids_differ_beyond_case(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """Entry ids differ by more than letter case: on macOS and Windows they share a folder."""
    first: dict[str, Located] = {}
    for item in _with_ids(m):
        folded = item.entry.id.casefold()
        seen = first.setdefault(folded, item)
        if seen is not item and seen.entry.id != item.entry.id:
            yield (
                item,
                Finding(
                    ("id",),
                    f"{item.entry.id!r} differs from {seen.entry.id!r} (line "
                    f"{seen.source.position.line}) only in letter case; on macOS and Windows both "
                    "would write to the same folder",
                ),
            )


def something_to_render(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """There is at least one shot or storyboard."""
    sections = (m.root.get("shots"), m.root.get("storyboards"))
    if not any(isinstance(section, SequenceNode) and section.items for section in sections):
        yield None, Finding((), "no shots and no storyboards: there is nothing to render")


def name_is_a_folder_name(m: WholeManifest) -> Iterator[tuple[Located | None, Finding]]:
    """Without `name:`, the file's name must be a safe folder name."""
    if m.root.get("name") is None and not _name_pattern().search(m.name):
        yield (
            None,
            Finding(
                ("name",),
                f"the output folder would be named after the file, {m.name!r}, which is not a "
                "safe folder name; add `name:` with letters, digits, '.', '_' and '-'",
            ),
        )


def _with_ids(m: WholeManifest) -> Iterator[Located]:
    """The entries whose id was written and passed the schema."""
    for item in m.entries:
        if "id" not in item.broken:
            yield item


@cache
def _name_pattern() -> re.Pattern[str]:
    pattern: str = schema()["$defs"]["name"]["pattern"]
    return re.compile(pattern.removesuffix("$") + r"\Z")
