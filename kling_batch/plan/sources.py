"""The plan by source: the entries one written entry made (its matrix combinations, rows and
takes) side by side, with what they cost together, so that a reviewer reads
"hero-{{sku}}: 8 rows x 2 takes = 16 renders, 48.00 CNY" before the sixteen rows.

A plain entry is a source of its own. Which source and group an entry belongs to is asked of
kling_batch/delivery/groups.py, as pick, export and the report do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kling_batch.delivery.groups import group_of, source_of
from kling_batch.manifest.model import Position
from kling_batch.runner.budget import money

if TYPE_CHECKING:
    from kling_batch.plan.model import PlannedEntry


class Sending:
    """What some planned entries will send, and what that costs: the whole plan's, and each
    source's. Worked out once: a plan is read whole (totals, groups, sources, the summary), and
    a large one has 10,000 entries to look through each time."""

    entries: tuple[PlannedEntry, ...]

    @cached_property
    def to_send(self) -> tuple[PlannedEntry, ...]:
        return tuple(p for p in self.entries if p.pays)

    @property
    def seconds(self) -> int:
        return sum(p.result.estimate.seconds for p in self.to_send)

    @cached_property
    def cost(self) -> Decimal:
        """The estimated cost of every render `run` will send."""
        return sum((p.result.estimate.amount for p in self.to_send), Decimal(0))


@dataclass(frozen=True)
class Source(Sending):
    """The planned entries of one written entry, in manifest order."""

    name: str  # the id as written: `hero-{{sku}}`; a plain entry's own id
    entries: tuple[PlannedEntry, ...]

    @cached_property
    def expanded(self) -> bool:
        """Whether the written entry made more than itself (a header is worth showing)."""
        return len(self.entries) > 1 or any(
            p.entry.take is not None or (p.entry.origin is not None and p.entry.origin.values)
            for p in self.entries
        )

    @cached_property
    def cells(self) -> int:
        """How many bodies: matrix combinations, rows (or both), each rendered `takes` times."""
        return len({group_of(p.entry) for p in self.entries})

    @cached_property
    def takes(self) -> int | None:
        """How many takes each body has (1 without takes); None when they differ (--only)."""
        sizes: dict[str, int] = {}
        for planned in self.entries:
            group = group_of(planned.entry)
            sizes[group] = sizes.get(group, 0) + 1
        counts = set(sizes.values())
        return counts.pop() if len(counts) == 1 else None

    def headline(self, currency: str) -> str:
        """`hero-{{sku}}: 8 rows x 2 takes = 16 renders, 48.00 CNY`."""
        count, sending = len(self.entries), len(self.to_send)
        takes = self.takes
        made = f"{self.cells} {self._kind}"
        if takes is not None and takes > 1:
            made = f"{takes} takes" if self.cells == 1 else f"{made} x {takes} takes"
        if sending == count:
            return f"{self.name}: {made} = {_count(count, 'render')}, {money(self.cost, currency)}"
        sends = f"{sending} to send, {money(self.cost, currency)}" if sending else "nothing to send"
        return f"{self.name}: {made} = {_count(count, 'entry', 'entries')}; {sends}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "entries": len(self.entries),
            "bodies": self.cells,
            "takes": self.takes,
            "renders": len(self.to_send),
            "seconds": self.seconds,
            "estimated_cost": float(self.cost),
        }

    @cached_property
    def _kind(self) -> str:
        """What one body of the source is, in the author's words."""
        origins = [p.entry.origin for p in self.entries]
        with_values = any(o is not None and o.values for o in origins)
        with_rows = any(o is not None and o.row is not None for o in origins)
        plural = self.cells != 1
        if with_rows and not with_values:
            return "rows" if plural else "row"
        if with_values:
            return "combinations" if plural else "combination"
        return "bodies" if plural else "body"


def by_source(planned: Iterable[PlannedEntry]) -> tuple[Source, ...]:
    """The planned entries by the written entry they come from, sources in the order their
    first entry appears, each source's entries in manifest order."""
    keyed: dict[tuple[str, Position | None], list[PlannedEntry]] = {}
    for item in planned:
        origin = item.entry.origin
        # Two written entries may share an id template; where each is written tells them apart.
        key = (source_of(item.entry), origin.position if origin is not None else None)
        keyed.setdefault(key, []).append(item)
    return tuple(Source(name, tuple(items)) for (name, _), items in keyed.items())


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"
