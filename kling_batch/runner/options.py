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
    retry_failed: bool = False
    resubmit_unknown: bool = False
    handle_signals: bool = True
    max_cost: Decimal | None = None  # overrides the manifest's budget:
    prices: PriceTable | None = None  # None: PriceTable.load() ($KLING_BATCH_PRICES or shipped)


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
    """`--only` patterns that match no entry."""


def select_entries(manifest: Manifest, patterns: Sequence[str]) -> list[Entry]:
    if not patterns:
        return list(manifest.entries)
    unmatched = [
        p for p in patterns if not any(fnmatch.fnmatchcase(e.id, p) for e in manifest.entries)
    ]
    if unmatched:
        raise SelectionError(f"--only {', '.join(unmatched)} matches no entry of {manifest.path}")
    return [e for e in manifest.entries if any(fnmatch.fnmatchcase(e.id, p) for p in patterns)]
