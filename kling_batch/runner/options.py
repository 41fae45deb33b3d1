"""What a run is asked to do (`RunOptions`, the selection) and what it reports (`RunSummary`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.records import EntryState


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 10
    poll_interval: float = 5.0
    only: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()  # --replace: patterns of the settled entries to render again
    retry_failed: bool = False
    resubmit_unknown: bool = False
    handle_signals: bool = True
    max_cost: Decimal | None = None  # overrides the manifest's budget:
    prices: PriceTable | None = None  # None: PriceTable.load() ($KLING_BATCH_PRICES or shipped)

    def replaces(self, entry_id: str) -> bool:
        """Whether `--replace` names the entry."""
        return _matches(entry_id, self.replace)


@dataclass(frozen=True)
class RunSummary:
    states: dict[str, EntryState | None]  # None: not reached (the run stopped first)
    interrupted: bool = False
    fatal: str | None = None
    elapsed: float = 0.0
    over_budget: tuple[str, ...] = ()  # entries not sent: they would have passed the limit

    @property
    def all_done(self) -> bool:
        return all(state is EntryState.DONE for state in self.states.values())

    def count(self, state: EntryState | None) -> int:
        return sum(1 for value in self.states.values() if value is state)


class SelectionError(ValueError):
    """`--only` or `--replace` patterns that match no entry."""


def select_entries(manifest: Manifest, patterns: Sequence[str]) -> list[Entry]:
    """The entries `--only` patterns (ids or globs) select; all without any."""
    if not patterns:
        return list(manifest.entries)
    return _matching("--only", manifest.entries, patterns, f"of {manifest.path}")


def replaced_ids(
    manifest: Manifest, selected: Sequence[Entry], patterns: Sequence[str]
) -> frozenset[str]:
    """The ids of the selected entries that `--replace` patterns (ids or globs) name."""
    if not patterns:
        return frozenset()
    among = f"of {manifest.path}" if len(selected) == len(manifest.entries) else "--only selects"
    return frozenset(e.id for e in _matching("--replace", selected, patterns, among))


def _matching(
    option: str, entries: Sequence[Entry], patterns: Sequence[str], among: str
) -> list[Entry]:
    """The entries whose id matches a pattern; SelectionError names those that match none."""
    unmatched = [p for p in patterns if not any(_matches(e.id, (p,)) for e in entries)]
    if unmatched:
        raise SelectionError(f"{option} {', '.join(unmatched)} matches no entry {among}")
    return [e for e in entries if _matches(e.id, patterns)]


def _matches(entry_id: str, patterns: Sequence[str]) -> bool:
    """Whether an id matches one of the patterns: ids, or globs such as 'hero-*'."""
    return any(fnmatch.fnmatchcase(entry_id, pattern) for pattern in patterns)
