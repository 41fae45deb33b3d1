"""What the report says: each entry's outcome and the run's totals, gathered from the output.

Costs come from `entry_result`, the function that writes results.jsonl, so the report and
results.jsonl can never disagree on a number. Wall time comes from events.jsonl, because a
campaign is often run several times (resumed after Ctrl-C, retried) and the state store keeps
no timings of the runs themselves.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout, read_json_lines
from kling_batch.runner.events import EventKind
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import entry_result
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

PENDING = "pending"  # an entry the state store has never seen
VIDEO_FILE = "video.mp4"
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
    """One card of the report."""

    entry: Entry
    status: str  # an EntryState value, or PENDING
    estimated_seconds: int
    estimated_cost: float
    task_id: str | None = None
    request_id: str | None = None
    billed_seconds: int | None = None
    cost: float | None = None
    error_code: str | None = None
    error_message: str | None = None
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
        counts = Counter(outcome.status for outcome in self.entries)
        return {status: counts[status] for status in STATUS_ORDER if counts[status]}

    @property
    def billed_seconds(self) -> int:
        return sum(outcome.billed_seconds or 0 for outcome in self.entries)

    @property
    def estimated_cost(self) -> float:
        return sum(outcome.estimated_cost for outcome in self.entries)

    @property
    def actual_cost(self) -> float:
        return sum(outcome.cost or 0.0 for outcome in self.entries)


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
    row = entry_result(entry, record, prices)
    folder = layout.entry_dir(entry.id)
    artifacts = tuple(
        Artifact(name, f"{entry.id}/{name}", (folder / name).stat().st_size)
        for name in ARTIFACT_FILES
        if (folder / name).is_file()
    )
    kept = {f.name for f in record.files} if record else set()
    # Only a download the runner verified gets a player; a file left by an interrupted
    # download never has its final name, but one deleted or damaged by hand might be stale.
    video = next((a.href for a in artifacts if a.name == VIDEO_FILE and a.name in kept), None)
    return EntryOutcome(
        entry=entry,
        status=str(row["status"]),
        estimated_seconds=int(row["estimated_seconds"]),
        estimated_cost=float(row["estimated_cost"]),
        task_id=_text(row.get("task_id")),
        request_id=_text(row.get("request_id")),
        billed_seconds=_int(row.get("billed_seconds")),
        cost=_float(row.get("cost")),
        error_code=_text(row.get("error_code")),
        error_message=_text(row.get("error_message")),
        video_href=video,
        artifacts=artifacts,
    )


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
            if str(event.get("code", "")).startswith("Throttling"):
                throttled += 1
        elif kind == EventKind.RUN_FINISHED and started is not None:
            elapsed = _float(event.get("elapsed"))
            wall += elapsed if elapsed is not None else max(0.0, (at or started) - started)
            started = last_seen = None
    close_run()
    return RunTiming(runs, wall if runs else None, retries, throttled)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
