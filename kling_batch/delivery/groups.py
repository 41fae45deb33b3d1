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
    # `Entry.group` comes with campaign-scale authoring (spec §7, being built on another branch);
    # until it lands every entry is its own group. When it does, this becomes `entry.group or
    # entry.id`, here and nowhere else.
    group: str | None = getattr(entry, "group", None)
    return group or entry.id


def take_of(entry: Entry) -> int | None:
    """Which take of its group `entry` is (1-based), or None for an entry without takes."""
    # As above: `Entry.take` arrives with spec §7.
    take: int | None = getattr(entry, "take", None)
    return take


def grouped(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """The entries by group, groups in the order their first entry appears, each group's
    entries in manifest order."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(group_of(entry), []).append(entry)
    return groups
