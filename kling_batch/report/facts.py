"""What the report says: each entry's outcome and the run's totals, gathered from the output.

Each card holds the entry's `EntryResult`, the very object results.jsonl is written from, so
the report and results.jsonl can never disagree on a number. Wall time comes from events.jsonl,
because a campaign is often run several times (resumed after Ctrl-C, retried) and the state
store keeps no timings of the runs themselves.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kling_batch.api.errors import is_throttling_code
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout, read_json_lines
from kling_batch.runner.events import EventKind
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import PENDING, VIDEO_FILE, EntryResult, entry_result
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

# The files of an entry's folder worth a link, in the order a reviewer wants them.
ARTIFACT_FILES = (
    VIDEO_FILE,
    "video.watermark.mp4",
    "request.json",
    "task.json",
    "polls.jsonl",
)
# Filter order in the report: what needs attention first after the good news.
STATUS_ORDER = (
    str(EntryState.DONE),
    str(EntryState.FAILED),
    str(EntryState.UNKNOWN),
    str(EntryState.EXPIRED),
    str(EntryState.CANCELED),
    str(EntryState.SUCCEEDED),
    str(EntryState.IN_FLIGHT),
    str(EntryState.SUBMITTING),
    PENDING,
)


@dataclass(frozen=True)
class Artifact:
    name: str
    href: str  # relative to report.html, which sits in the same folder as the entry folders
    size: int


@dataclass(frozen=True)
class EntryOutcome:
    """One card of the report: the entry, its result, and its files on disk."""

    entry: Entry
    result: EntryResult
    video_href: str | None = None  # set only when the verified video is on disk
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True)
class RunTiming:
    """How long the runs of this output took, from events.jsonl."""

    runs: int = 0
    wall_seconds: float | None = None
    retries: int = 0
    throttled: int = 0  # retries the service asked for with 429 Throttling*


@dataclass(frozen=True)
class ReportFacts:
    name: str
    manifest_path: Path
    currency: str
    price_source: str
    entries: tuple[EntryOutcome, ...]
    timing: RunTiming = field(default_factory=RunTiming)
    generated_at: float = field(default_factory=time.time)
    # Where the output was made (runner/world.py): shown when its videos are not real renders.
    simulated: bool | None = False
    world_note: str | None = None

    @property
    def status_counts(self) -> dict[str, int]:
        """Entries per status, in STATUS_ORDER, leaving out statuses nobody has."""
        counts = Counter(outcome.result.status for outcome in self.entries)
        return {status: counts[status] for status in STATUS_ORDER if counts[status]}

    @property
    def billed_seconds(self) -> int:
        return sum(outcome.result.billed_seconds or 0 for outcome in self.entries)

    @property
    def estimated_cost(self) -> Decimal:
        return sum((outcome.result.estimate.amount for outcome in self.entries), Decimal(0))

    @property
    def actual_cost(self) -> Decimal:
        return sum((outcome.result.cost or Decimal(0) for outcome in self.entries), Decimal(0))


def gather(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    prices: PriceTable | None = None,
    wall_time: float | None = None,
) -> ReportFacts:
    prices = prices or PriceTable.load()
    timing = run_timing(layout.events)
    if wall_time is not None:
        timing = RunTiming(max(timing.runs, 1), wall_time, timing.retries, timing.throttled)
    outcomes = tuple(
        _outcome(layout, entry, store.get(entry.id), prices) for entry in manifest.entries
    )
    world = store.world()
    return ReportFacts(
        name=manifest.name,
        manifest_path=manifest.path,
        currency=prices.currency,
        price_source=prices.source,
        entries=outcomes,
        timing=timing,
        simulated=world.simulated if world is not None else False,
        world_note=world_note(world),
    )


def _outcome(
    layout: OutputLayout, entry: Entry, record: EntryRecord | None, prices: PriceTable
) -> EntryOutcome:
    result = entry_result(entry, record, prices)
    folder = layout.entry_dir(entry.id)
    artifacts = tuple(
        Artifact(name, f"{entry.id}/{name}", (folder / name).stat().st_size)
        for name in ARTIFACT_FILES
        if (folder / name).is_file()
    )
    # Only a download the runner verified gets a player; a file left by an interrupted
    # download never has its final name, but one deleted or damaged by hand might be stale.
    video = None
    if result.video is not None:
        video = next((a.href for a in artifacts if a.name == VIDEO_FILE), None)
    return EntryOutcome(entry, result, video, artifacts)


def run_timing(events_path: Path) -> RunTiming:
    """Wall time summed over every run in the log; a run cut short (kill -9) counts up to its
    last event."""
    events = read_json_lines(events_path)
    runs = 0
    wall = 0.0
    retries = throttled = 0
    started: float | None = None
    last_seen: float | None = None

    def close_run() -> None:
        nonlocal wall
        if started is not None and last_seen is not None:
            wall += max(0.0, last_seen - started)

    for event in events:
        kind = event.get("event")
        at = _float(event.get("ts"))
        if kind == EventKind.RUN_STARTED:
            close_run()
            runs += 1
            started = last_seen = at
            continue
        if at is not None:
            last_seen = at
        if kind == EventKind.RETRY:
            retries += 1
            code = event.get("code")
            if is_throttling_code(code if isinstance(code, str) else None):
                throttled += 1
        elif kind == EventKind.RUN_FINISHED and started is not None:
            elapsed = _float(event.get("elapsed"))
            wall += elapsed if elapsed is not None else max(0.0, (at or started) - started)
            started = last_seen = None
    close_run()
    return RunTiming(runs, wall if runs else None, retries, throttled)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
