"""Where each entry of a manifest stands in an output, from the state store alone (no network).

`kling-batch status` prints it; `kling_batch.status()` returns it. Each entry's result is the
line `results.jsonl` holds for it, so a script reads the same fields either way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.expiry import ExpiryNotice, status_notices
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.results import EntryResult, entry_result
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import World


@dataclass(frozen=True)
class Status:
    manifest: Manifest
    output: Path  # <output>/<manifest name>/
    currency: str
    world: World | None  # where the output's records were made; None: nothing has run there
    results: tuple[EntryResult, ...]  # per selected entry, in manifest order
    notices: tuple[ExpiryNotice, ...]  # what expires soon: task ids, video links, uploads

    @property
    def billed(self) -> tuple[Decimal, int]:
        """What the service billed so far, and for how many entries."""
        costs = [result.cost for result in self.results if result.cost is not None]
        return sum(costs, Decimal(0)), len(costs)

    def to_json(self) -> list[dict[str, Any]]:
        """`status --json`: per entry its results.jsonl line, with `warnings` (what expires
        soon) when there are any, and `simulated` once the output records where it was made."""
        rows = []
        for result in self.results:
            row = result.as_json()
            warnings = [n.to_json() for n in self.notices if n.entry_id == result.id]
            if warnings:
                row["warnings"] = warnings
            if self.world is not None:
                row["simulated"] = self.world.simulated
            rows.append(row)
        return rows


def read_status(
    manifest: Manifest,
    layout: OutputLayout,
    prices: PriceTable,
    entries: Sequence[Entry] | None = None,
    now: float | None = None,
) -> Status:
    """The status of `entries` (default: all of the manifest). Reads the store read-only, so it
    is safe beside a run that is writing it; raises PriceTableError for a price it lacks."""
    moment = time.time() if now is None else now
    selected = list(manifest.entries if entries is None else entries)
    records: dict[str, EntryRecord] = {}
    notices: list[ExpiryNotice] = []
    world = None
    if layout.state.exists():
        store = StateStore(layout.state, readonly=True)
        try:
            world = store.world()
            records = {record.entry_id: record for record in store.all()}
            for entry in selected:
                notices += status_notices(entry, records.get(entry.id), store.get_upload, moment)
        finally:
            store.close()
    results = tuple(_result(entry, records.get(entry.id), prices) for entry in selected)
    return Status(manifest, layout.folder, prices.currency, world, results, tuple(notices))


def _result(entry: Entry, record: EntryRecord | None, prices: PriceTable) -> EntryResult:
    # The one place status turns a record into its result (the results.jsonl line's shape).
    return entry_result(entry, record, prices)
