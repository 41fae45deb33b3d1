"""Where a run stands, folded from its events: what the live display draws, kept apart from the
drawing so that it can be tested without a terminal.

Everything comes from events, not the state store, so the display shows exactly what the log
says and can never block the runner on a database read. A tally is itself an EventSink, so the
command line can keep one for the run's closing lines.
"""

from __future__ import annotations

import heapq
import statistics
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from kling_batch.api.types import TaskStatus
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import API_DEFAULT_DURATION, PriceTable
from kling_batch.runner.events import (
    Download,
    EntryDone,
    EntryEvent,
    EntryFailed,
    EntrySkipped,
    EntryUnknown,
    Event,
    Fatal,
    Interrupted,
    NotifyFailed,
    Poll,
    Reconciled,
    Retry,
    RunFinished,
    RunStarted,
    Submit,
    SubmitAmbiguous,
    Submitted,
    Upload,
)
from kling_batch.runner.reconcile import Verdict
from kling_batch.runner.results import billed_cost


class Phase(StrEnum):
    """An entry's step in this run, as far as the events tell."""

    QUEUED = "queued"  # no event yet: waiting for a slot
    UPLOADING = "uploading"
    SUBMITTING = "submitting"  # the create is on its way, or a lost answer is being settled
    PENDING = "pending"  # the service holds the task, not rendering yet
    RUNNING = "running"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # a submission that could not be settled
    SKIPPED = "skipped"  # finished (or failed) in an earlier run, left alone

    @property
    def is_finished(self) -> bool:
        return self in (Phase.DONE, Phase.FAILED, Phase.UNKNOWN, Phase.SKIPPED)

    @property
    def is_active(self) -> bool:
        return not self.is_finished and self is not Phase.QUEUED


# How many of the latest renders the ETA's typical render time is the median of: recent enough
# to follow the service's load, enough to ignore an odd one (as runner/polling.py learns).
RENDER_TIMES_WINDOW = 40

_POLL_PHASES = {
    TaskStatus.PENDING: Phase.PENDING,
    TaskStatus.RUNNING: Phase.RUNNING,
    TaskStatus.SUCCEEDED: Phase.DOWNLOADING,
}


@dataclass(frozen=True)
class InFlight:
    entry_id: str
    phase: Phase
    since: float  # epoch seconds this run first saw the entry at work
    task_id: str | None


@dataclass
class RunTally:
    """A fold over a run's events. `apply` each event in order; ask the properties any time."""

    entries: dict[str, Entry] = field(default_factory=dict)
    prices: PriceTable | None = None
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    phases: dict[str, Phase] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)
    task_ids: dict[str, str] = field(default_factory=dict)
    billed_seconds: int = 0
    cost: Decimal = Decimal(0)
    # True when some billed figure is an estimate: the event did not say what was billed.
    billed_estimated: bool = False
    retries: int = 0
    throttled: int = 0
    stopping: str | None = None  # why the run is winding down early (interrupt, fatal error)
    concurrency: int = 10
    # Start to done of the renders this run sent and saw finish, the latest last.
    render_times: deque[float] = field(default_factory=lambda: deque(maxlen=RENDER_TIMES_WINDOW))
    started_here: set[str] = field(default_factory=set)  # entries this run sent from the start
    notify_failures: list[NotifyFailed] = field(default_factory=list)

    @classmethod
    def for_manifest(cls, manifest: Manifest | None, prices: PriceTable | None) -> RunTally:
        entries = {e.id: e for e in manifest.entries} if manifest else {}
        return cls(entries=entries, prices=prices, total=len(entries))

    @property
    def currency(self) -> str:
        return self.prices.currency if self.prices else ""

    # -- questions ---------------------------------------------------------------------

    def counts(self) -> dict[Phase, int]:
        seen = Counter(self.phases.values())
        seen[Phase.QUEUED] += max(0, self.total - len(self.phases))
        return {phase: seen[phase] for phase in Phase if seen[phase]}

    @property
    def finished(self) -> int:
        return sum(1 for phase in self.phases.values() if phase.is_finished)

    def in_flight(self) -> list[InFlight]:
        """Entries at work, the longest-running first."""
        active = [
            InFlight(entry_id, phase, self.since.get(entry_id, 0.0), self.task_ids.get(entry_id))
            for entry_id, phase in self.phases.items()
            if phase.is_active
        ]
        return sorted(active, key=lambda item: (item.since, item.entry_id))

    def elapsed(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.finished_at or now) - self.started_at)

    @property
    def worked(self) -> int:
        """Entries this run did something with (not only skipped)."""
        return sum(1 for phase in self.phases.values() if phase is not Phase.SKIPPED)

    def typical_render(self) -> float | None:
        """The median time, start to done, of the latest renders this run saw finish."""
        return statistics.median(self.render_times) if self.render_times else None

    def eta(self, now: float) -> float | None:
        """Seconds left, from what this run learned renders take; None until one finished.

        Each render at work needs the typical time less its age; the ones still queued take
        the slots (`concurrency`) as they free up. The typical time is a running median of the
        latest renders, not of the first few (which are the quick ones) and not of entries
        skipped as done or resumed midway (which took no time, or part of it).
        """
        remaining = self.total - self.finished
        if remaining <= 0:
            return 0.0
        typical = self.typical_render()
        if typical is None:
            return None
        working = self.in_flight()
        slots = [max(0.0, typical - (now - item.since)) for item in working]
        slots += [0.0] * max(0, self.concurrency - len(slots))
        heapq.heapify(slots)
        finish = max(slots)
        for _ in range(max(0, remaining - len(working))):
            free_at = heapq.heappop(slots) + typical
            finish = max(finish, free_at)
            heapq.heappush(slots, free_at)
        return finish

    def emit(self, event: Event) -> None:
        """As an EventSink: `apply`."""
        self.apply(event)

    # -- folding -----------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold in the next event; kinds the display has no use for leave it as it is."""
        match event:
            case RunStarted():
                self.started_at = event.at
                self.total = event.entries
                self.concurrency = event.concurrency
            case EntrySkipped():
                self._move(event, Phase.SKIPPED)
            case Upload():
                self._start(event)
                self._move(event, Phase.UPLOADING)
            case Submit():
                self._start(event)
                self._move(event, Phase.SUBMITTING)
            case SubmitAmbiguous():
                self._move(event, Phase.SUBMITTING)
            case Submitted():
                self._move(event, Phase.PENDING, event.task_id)
            case Reconciled(verdict=Verdict.ADOPTED):
                self._move(event, Phase.PENDING, event.task_id)
            case Poll():
                phase = _POLL_PHASES.get(event.status)
                if phase is not None:
                    self._move(event, phase, event.task_id)
            case Download():
                self._move(event, Phase.DOWNLOADING)
            case EntryDone():
                self._done(event)
            case EntryFailed():
                self._move(event, Phase.FAILED)
            case EntryUnknown():
                self._move(event, Phase.UNKNOWN)
            case Retry():
                self.retries += 1
                if event.throttled:
                    self.throttled += 1
            case Fatal():
                self.stopping = f"stopped: {event.code or 'fatal error'}"
            case Interrupted():
                self.stopping = f"interrupted ({event.signal})"
            case RunFinished():
                self.finished_at = event.at
            case NotifyFailed():
                self.notify_failures.append(event)

    def _start(self, event: EntryEvent) -> None:
        # A render timed from its start: first seen here uploading or submitting.
        if event.entry_id not in self.phases:
            self.started_here.add(event.entry_id)

    def _move(self, event: EntryEvent, phase: Phase, task_id: str | None = None) -> None:
        self.phases[event.entry_id] = phase
        if phase.is_active:
            self.since.setdefault(event.entry_id, event.at)
        if task_id is not None:
            self.task_ids[event.entry_id] = task_id

    def _done(self, event: EntryDone) -> None:
        if event.entry_id in self.started_here and event.entry_id in self.since:
            self.render_times.append(max(0.0, event.at - self.since[event.entry_id]))
        self._move(event, Phase.DONE)
        seconds = event.billed_seconds
        entry = self.entries.get(event.entry_id)
        if seconds is None:
            if entry is None:
                return
            seconds = entry.duration or API_DEFAULT_DURATION
            self.billed_estimated = True
        self.billed_seconds += seconds
        if self.prices is not None and entry is not None:
            # What this run renders is the entry as it stands: no record to read it from.
            self.cost += billed_cost(entry, None, self.prices, seconds)
