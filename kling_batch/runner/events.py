"""What happened during a run, as events: logged to events.jsonl and shown to the user.

The same event objects feed every sink: the append-only log, the `--json` stdout stream and the
terminal display, so what a user watched and what the log says never disagree.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


class EventKind(StrEnum):
    RUN_STARTED = "run_started"
    ENTRY_SKIPPED = "entry_skipped"  # done already, or failed without --retry-failed
    ENTRY_CHANGED = "entry_changed"  # its content changed: old artifacts set aside, render again
    UPLOAD = "upload"
    SUBMIT = "submit"  # intent recorded, create about to be sent
    SUBMITTED = "submitted"
    SUBMIT_AMBIGUOUS = "submit_ambiguous"  # the create may have reached the service
    RECONCILED = "reconciled"  # a lost submission was found (adopted) or proven absent
    POLL = "poll"
    RETRY = "retry"  # the client waits and tries again (5xx, reset, throttling)
    DOWNLOAD = "download"
    ENTRY_DONE = "entry_done"
    ENTRY_FAILED = "entry_failed"
    ENTRY_UNKNOWN = "entry_unknown"
    FATAL = "fatal"
    INTERRUPTED = "interrupted"
    RUN_FINISHED = "run_finished"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    entry_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"ts": round(self.at, 3), "event": str(self.kind)}
        if self.entry_id is not None:
            value["entry"] = self.entry_id
        value.update(self.data)
        return value


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class EventLog:
    """Appends every event to events.jsonl, then hands it to the display sinks.

    The file stays open for the run and each line is flushed as it is written, so a kill loses
    at most the line being written."""

    def __init__(self, path: Path, sinks: list[EventSink] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._sinks = list(sinks or [])

    def close(self) -> None:
        self._file.close()

    def emit(self, kind: EventKind, entry_id: str | None = None, **data: Any) -> Event:
        event = Event(kind, entry_id, {k: v for k, v in data.items() if v is not None})
        self._file.write(json.dumps(event.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        self._file.flush()
        for sink in self._sinks:
            sink.emit(event)
        return event
