"""What happened during a run, as typed events: logged to events.jsonl and shown to the user.

One frozen dataclass per kind, with named, typed fields. The same event objects feed every
sink: the append-only log, the `--json` stdout stream and the terminal display, so what a user
watched and what the log says never disagree. `Event.line()` is the one way an event becomes
its events.jsonl line (docs/events.md is that format's reference).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any, ClassVar, Protocol

from kling_batch.api.errors import is_throttling_code
from kling_batch.api.types import TaskStatus
from kling_batch.runner.reconcile import Verdict
from kling_batch.runner.records import EntryState


class EventKind(StrEnum):
    """The `event` field of a line: which kind of event it is."""

    RUN_STARTED = "run_started"
    ENTRY_SKIPPED = "entry_skipped"
    ENTRY_CHANGED = "entry_changed"
    ENTRY_MOVED = "entry_moved"
    UPLOAD = "upload"
    SUBMIT = "submit"
    SUBMITTED = "submitted"
    SUBMIT_AMBIGUOUS = "submit_ambiguous"
    RECONCILED = "reconciled"
    POLL = "poll"
    RETRY = "retry"
    DOWNLOAD = "download"
    ENTRY_DONE = "entry_done"
    ENTRY_FAILED = "entry_failed"
    ENTRY_UNKNOWN = "entry_unknown"
    FATAL = "fatal"
    INTERRUPTED = "interrupted"
    RUN_FINISHED = "run_finished"
    NOTIFY_FAILED = "notify_failed"


# Field metadata: a flag written only when true (`"resumable": true`); absent means false.
_ONLY_WHEN_TRUE = "only_when_true"


def _flag() -> bool:
    return field(default=False, metadata={_ONLY_WHEN_TRUE: True})


@dataclass(frozen=True)
class Event:
    """Base of every event: its kind and when it happened (Unix epoch seconds)."""

    kind: ClassVar[EventKind]
    at: float = field(default_factory=time.time, kw_only=True)

    def details(self) -> dict[str, Any]:
        """The kind's own fields as the line writes them (each field's name is its key), in
        field order; unknown ones (None) and false flags are left out."""
        written: dict[str, Any] = {}
        for name, only_when_true in _written_fields(type(self)):
            value = getattr(self, name)
            if value is None or (value is False and only_when_true):
                continue
            written[name] = _plain(value)
        return written

    def as_json(self) -> dict[str, Any]:
        """The events.jsonl object: `ts`, `event`, `entry` (for entry events), the details."""
        value: dict[str, Any] = {"ts": round(self.at, 3), "event": str(self.kind)}
        if isinstance(self, EntryEvent):
            value["entry"] = self.entry_id
        value.update(self.details())
        return value

    def line(self) -> str:
        """The events.jsonl line (and `run --json` line), without its newline."""
        return json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True)


def _written_fields(kind: type[Event]) -> tuple[tuple[str, bool], ...]:
    """The fields a kind's line writes, each with whether it is a flag written only when true:
    worked out once per kind (a resume writes a line per entry)."""
    found = _WRITTEN_FIELDS.get(kind)
    if found is None:
        found = _WRITTEN_FIELDS[kind] = tuple(
            (spec.name, bool(spec.metadata.get(_ONLY_WHEN_TRUE)))
            for spec in fields(kind)
            if spec.name not in ("at", "entry_id")
        )
    return found


_WRITTEN_FIELDS: dict[type[Event], tuple[tuple[str, bool], ...]] = {}


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum | PurePath):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class EntryEvent(Event):
    """An event about one manifest entry."""

    entry_id: str


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStarted(Event):
    """After validation, the output lock and the check of the output's service and account."""

    kind: ClassVar[EventKind] = EventKind.RUN_STARTED
    manifest: PurePath
    entries: int  # how many are selected
    concurrency: int
    service: str  # where it runs, with the account fingerprint
    simulated: bool | None  # None: the output predates the record of its service


@dataclass(frozen=True)
class Retry(Event):
    """The client waits and tries a request again (429, 5xx, reset, timeout)."""

    kind: ClassVar[EventKind] = EventKind.RETRY
    operation: str  # the client method: create_task, get_task, list_tasks, ...
    attempt: int  # the try that failed, from 1
    code: str
    message: str
    retry_after: float | None = None  # seconds the service asked for

    @property
    def throttled(self) -> bool:
        return is_throttling_code(self.code)


@dataclass(frozen=True)
class Interrupted(Event):
    """Ctrl-C or SIGTERM: no new submissions, state saved."""

    kind: ClassVar[EventKind] = EventKind.INTERRUPTED
    signal: str  # SIGINT, SIGTERM


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ends, however it ends."""

    kind: ClassVar[EventKind] = EventKind.RUN_FINISHED
    done: int
    failed: int  # ended failed, canceled, expired or unknown
    unfinished: int  # still to submit, in flight or to download: the next run goes on
    elapsed: float
    interrupted: bool = _flag()
    fatal: str | None = None


@dataclass(frozen=True)
class NotifyFailed(Event):
    """After the run: its end-of-run notification did not arrive (the run's outcome stands)."""

    kind: ClassVar[EventKind] = EventKind.NOTIFY_FAILED
    channel: str  # url, command
    target: str  # safe to print: scheme://host[:port] of a URL, the command's name
    reason: str


# -- one entry, in the order a render goes ----------------------------------------------------


@dataclass(frozen=True)
class EntrySkipped(EntryEvent):
    """Left alone: done before, failed or unknown without the flag, or over the budget."""

    kind: ClassVar[EventKind] = EventKind.ENTRY_SKIPPED
    state: EntryState | None = None
    code: str | None = None  # BudgetExceeded for the budget, with a message
    message: str | None = None


@dataclass(frozen=True)
class EntryChanged(EntryEvent):
    """Rendered again from the start: its content changed, or the in-process simulator forgot
    the task it was left at (`reason` simulator_restarted)."""

    kind: ClassVar[EventKind] = EventKind.ENTRY_CHANGED
    previous_task: str | None = None
    set_aside: PurePath | None = None  # where the old artifacts were moved
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class EntryMoved(EntryEvent):
    """Renamed under `moved:`: its record and folder were carried from its old id; nothing was
    sent for it."""

    kind: ClassVar[EventKind] = EventKind.ENTRY_MOVED
    moved_from: str
    state: EntryState | None = None


@dataclass(frozen=True)
class Upload(EntryEvent):
    """A local media file is on a temporary oss:// URL."""

    kind: ClassVar[EventKind] = EventKind.UPLOAD
    file: str
    url: str


@dataclass(frozen=True)
class Submit(EntryEvent):
    """The intent is on disk; the create request is about to be sent."""

    kind: ClassVar[EventKind] = EventKind.SUBMIT
    model: str


@dataclass(frozen=True)
class Submitted(EntryEvent):
    kind: ClassVar[EventKind] = EventKind.SUBMITTED
    task_id: str
    request_id: str | None = None


@dataclass(frozen=True)
class SubmitAmbiguous(EntryEvent):
    """The create may have reached the service but its answer was lost."""

    kind: ClassVar[EventKind] = EventKind.SUBMIT_AMBIGUOUS
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class Reconciled(EntryEvent):
    """A lost (or earlier unsettled) submission was looked up in the task list."""

    kind: ClassVar[EventKind] = EventKind.RECONCILED
    verdict: Verdict
    task_id: str | None = None  # when adopted
    reason: str | None = None
    superseded: bool = _flag()  # an earlier create of an entry since rendered again


@dataclass(frozen=True)
class Poll(EntryEvent):
    kind: ClassVar[EventKind] = EventKind.POLL
    task_id: str
    status: TaskStatus


@dataclass(frozen=True)
class Download(EntryEvent):
    """A video was downloaded and verified."""

    kind: ClassVar[EventKind] = EventKind.DOWNLOAD
    file: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EntryDone(EntryEvent):
    """Every file of the entry is on disk and verified."""

    kind: ClassVar[EventKind] = EventKind.ENTRY_DONE
    files: tuple[str, ...]
    billed_seconds: int | None = None  # usage.duration, when the service told


@dataclass(frozen=True)
class EntryFailed(EntryEvent):
    kind: ClassVar[EventKind] = EventKind.ENTRY_FAILED
    code: str | None
    message: str | None
    state: EntryState | None = None  # failed, canceled, expired
    request_id: str | None = None
    resumable: bool = _flag()  # the service stayed unreachable: the next run goes on


@dataclass(frozen=True)
class EntryUnknown(EntryEvent):
    """A lost submission could not be settled yet: maybe created (and billed), maybe not."""

    kind: ClassVar[EventKind] = EventKind.ENTRY_UNKNOWN
    reason: str


@dataclass(frozen=True)
class Fatal(EntryEvent):
    """An account-level error (or a bug) stops the run; `entry` is where it surfaced."""

    kind: ClassVar[EventKind] = EventKind.FATAL
    code: str | None
    message: str


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class EventLog:
    """Appends every event to events.jsonl, then hands it to the display sinks.

    The file stays open for the run and each line is flushed as it is written (inside
    `batched`, as the batch ends), so a kill loses at most the lines not yet flushed, and can
    cut only the last line written."""

    def __init__(self, path: Path, sinks: list[EventSink] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._sinks = list(sinks or [])
        self._held = 0  # batches open: the flush waits for the last one's end

    def close(self) -> None:
        self._file.close()

    def emit(self, event: Event) -> None:
        self._file.write(event.line() + "\n")
        if not self._held:
            self._file.flush()
        for sink in self._sinks:
            sink.emit(event)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Flush the lines emitted inside once, at the end: for a burst of events with no wait
        between them (the skips of a resume, a line per entry), where a flush each is a write
        each. The sinks still get every event as it is emitted."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held:
                self._file.flush()
