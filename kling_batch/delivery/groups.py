"""Which group an entry belongs to, and which take of it it is: the one place that asks.

Spec §7: the takes of an entry (`takes: N`) and the cells of a matrix are a *group*, named by
their source id; a plain entry is a group of one, named by its own id. Pick, export and the
contact sheet all ask here, so they agree on what a group is.
"""

from __future__ import annotations

from collections.abc import Iterable

from kling_batch.manifest.model import Entry


def group_of(entry: Entry) -> str:
    """The id of the group `entry` belongs to; a plain entry's is its own id."""
    return entry.group or entry.id


def take_of(entry: Entry) -> int | None:
    """Which take of its group `entry` is (1-based), or None for an entry without takes."""
    return entry.take


def source_of(entry: Entry) -> str:
    """The entry as written in the manifest that `entry` was expanded from (its id template,
    `{{product}}-{{aspect_ratio}}`), which its matrix cells, rows and takes share; a plain
    entry's is its own id. The report shows the entries of one source side by side."""
    return entry.origin.template if entry.origin is not None else entry.id


def grouped(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """The entries by group, groups in the order their first entry appears, each group's
    entries in manifest order."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(group_of(entry), []).append(entry)
    return groups
