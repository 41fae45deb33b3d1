"""Each event kind and the events.jsonl line it writes: the format docs/events.md documents and
that scripts read, byte for byte."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from kling_batch.api.types import TaskStatus
from kling_batch.runner.events import (
    Download,
    EntryChanged,
    EntryDone,
    EntryEvent,
    EntryFailed,
    EntryMoved,
    EntrySkipped,
    EntryUnknown,
    Event,
    EventKind,
    EventLog,
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
from kling_batch.runner.records import EntryState

AT = 1764081783.2014  # written rounded to the millisecond

LINES: list[tuple[Event, str]] = [
    (
        RunStarted(manifest=PurePosixPath("manifests/campaign.yaml"), entries=9, concurrency=10,
                   service="the built-in simulator (--simulate)", simulated=True, at=AT),
        '{"concurrency": 10, "entries": 9, "event": "run_started", '
        '"manifest": "manifests/campaign.yaml", "service": "the built-in simulator (--simulate)", '
        '"simulated": true, "ts": 1764081783.201}',
    ),
    (
        RunStarted(manifest=PurePosixPath("m.yaml"), entries=1, concurrency=1, service="x",
                   simulated=False, at=AT),
        '{"concurrency": 1, "entries": 1, "event": "run_started", "manifest": "m.yaml", '
        '"service": "x", "simulated": false, "ts": 1764081783.201}',
    ),
    (
        EntrySkipped("a", state=EntryState.DONE, at=AT),
        '{"entry": "a", "event": "entry_skipped", "state": "done", "ts": 1764081783.201}',
    ),
    (
        EntrySkipped("a", code="BudgetExceeded", message="over CNY 5.00", at=AT),
        '{"code": "BudgetExceeded", "entry": "a", "event": "entry_skipped", '
        '"message": "over CNY 5.00", "ts": 1764081783.201}',
    ),
    (
        EntryChanged("a", previous_task="t-0", set_aside=PurePosixPath("out/b/.old/a-1"), at=AT),
        '{"entry": "a", "event": "entry_changed", "previous_task": "t-0", '
        '"set_aside": "out/b/.old/a-1", "ts": 1764081783.201}',
    ),
    (
        EntryChanged("a", reason="simulator_restarted", message="left midway", at=AT),
        '{"entry": "a", "event": "entry_changed", "message": "left midway", '
        '"reason": "simulator_restarted", "ts": 1764081783.201}',
    ),
    (
        EntryMoved("b", moved_from="a", state=EntryState.DONE, at=AT),
        '{"entry": "b", "event": "entry_moved", "moved_from": "a", "state": "done", '
        '"ts": 1764081783.201}',
    ),
    (
        Upload("a", file="start.png", url="oss://bucket/start.png", at=AT),
        '{"entry": "a", "event": "upload", "file": "start.png", "ts": 1764081783.201, '
        '"url": "oss://bucket/start.png"}',
    ),
    (
        Submit("a", model="kling/kling-v3-video-generation", at=AT),
        '{"entry": "a", "event": "submit", "model": "kling/kling-v3-video-generation", '
        '"ts": 1764081783.201}',
    ),
    (
        Submitted("a", task_id="t-1", request_id="r-1", at=AT),
        '{"entry": "a", "event": "submitted", "request_id": "r-1", "task_id": "t-1", '
        '"ts": 1764081783.201}',
    ),
    (
        Submitted("a", task_id="t-1", at=AT),
        '{"entry": "a", "event": "submitted", "task_id": "t-1", "ts": 1764081783.201}',
    ),
    (
        SubmitAmbiguous("a", reason="read timeout", code="ReadTimeout", at=AT),
        '{"code": "ReadTimeout", "entry": "a", "event": "submit_ambiguous", '
        '"reason": "read timeout", "ts": 1764081783.201}',
    ),
    (
        Reconciled("a", verdict=Verdict.ADOPTED, task_id="t-1", at=AT),
        '{"entry": "a", "event": "reconciled", "task_id": "t-1", "ts": 1764081783.201, '
        '"verdict": "adopted"}',
    ),
    (
        Reconciled("a", verdict=Verdict.NOT_CREATED, reason="none", superseded=True, at=AT),
        '{"entry": "a", "event": "reconciled", "reason": "none", "superseded": true, '
        '"ts": 1764081783.201, "verdict": "not_created"}',
    ),
    (
        Poll("a", task_id="t-1", status=TaskStatus.SUCCEEDED, at=AT),
        '{"entry": "a", "event": "poll", "status": "SUCCEEDED", "task_id": "t-1", '
        '"ts": 1764081783.201}',
    ),
    (
        Retry(operation="create_task", attempt=1, code="Throttling.RateQuota",
              message="Requests rate limit exceeded", retry_after=1.0, at=AT),
        '{"attempt": 1, "code": "Throttling.RateQuota", "event": "retry", '
        '"message": "Requests rate limit exceeded", "operation": "create_task", '
        '"retry_after": 1.0, "ts": 1764081783.201}',
    ),
    (
        Retry(operation="get_task", attempt=2, code="InternalError", message="boom", at=AT),
        '{"attempt": 2, "code": "InternalError", "event": "retry", "message": "boom", '
        '"operation": "get_task", "ts": 1764081783.201}',
    ),
    (
        Download("a", file="video.mp4", size=11325, sha256="74f9", at=AT),
        '{"entry": "a", "event": "download", "file": "video.mp4", "sha256": "74f9", '
        '"size": 11325, "ts": 1764081783.201}',
    ),
    (
        EntryDone("a", files=("video.mp4", "video.watermark.mp4"), billed_seconds=5, at=AT),
        '{"billed_seconds": 5, "entry": "a", "event": "entry_done", '
        '"files": ["video.mp4", "video.watermark.mp4"], "ts": 1764081783.201}',
    ),
    (
        EntryFailed("bad", code="DataInspectionFailed", message="Output data may contain "
                    "inappropriate content.", state=EntryState.FAILED, request_id="r-2", at=AT),
        '{"code": "DataInspectionFailed", "entry": "bad", "event": "entry_failed", '
        '"message": "Output data may contain inappropriate content.", "request_id": "r-2", '
        '"state": "failed", "ts": 1764081783.201}',
    ),
    (
        EntryFailed("a", code="ReadTimeout", message="no answer", resumable=True, at=AT),
        '{"code": "ReadTimeout", "entry": "a", "event": "entry_failed", "message": "no answer", '
        '"resumable": true, "ts": 1764081783.201}',
    ),
    (
        EntryUnknown("a", reason="2 tasks look like it", at=AT),
        '{"entry": "a", "event": "entry_unknown", "reason": "2 tasks look like it", '
        '"ts": 1764081783.201}',
    ),
    (
        Fatal("a", code="Arrearage", message="Access denied: arrears", at=AT),
        '{"code": "Arrearage", "entry": "a", "event": "fatal", '
        '"message": "Access denied: arrears", "ts": 1764081783.201}',
    ),
    (
        Interrupted(signal="SIGINT", at=AT),
        '{"event": "interrupted", "signal": "SIGINT", "ts": 1764081783.201}',
    ),
    (
        RunFinished(done=8, failed=1, unfinished=0, elapsed=2.726, at=AT),
        '{"done": 8, "elapsed": 2.726, "event": "run_finished", "failed": 1, '
        '"ts": 1764081783.201, "unfinished": 0}',
    ),
    (
        RunFinished(done=0, failed=0, unfinished=3, elapsed=1.0, interrupted=True,
                    fatal="AccountError: Arrearage", at=AT),
        '{"done": 0, "elapsed": 1.0, "event": "run_finished", "failed": 0, '
        '"fatal": "AccountError: Arrearage", "interrupted": true, "ts": 1764081783.201, '
        '"unfinished": 3}',
    ),
    (
        NotifyFailed(channel="url", target="https://hooks.example.com",
                     reason="HTTP 500 Internal Server Error", at=AT),
        '{"channel": "url", "event": "notify_failed", "reason": "HTTP 500 Internal Server Error", '
        '"target": "https://hooks.example.com", "ts": 1764081783.201}',
    ),
]  # fmt: skip


@pytest.mark.parametrize(("event", "line"), LINES, ids=lambda value: type(value).__name__)
def test_each_event_writes_its_line(event: Event, line: str) -> None:
    assert event.line() == line
    assert json.loads(line) == event.as_json()


def test_every_kind_has_a_line_in_the_table() -> None:
    assert {event.kind for event, _ in LINES} == set(EventKind)


def test_every_event_class_names_its_own_kind() -> None:
    def leaves(cls: type[Event]) -> list[type[Event]]:
        below = cls.__subclasses__()
        return [leaf for sub in below for leaf in leaves(sub)] if below else [cls]

    kinds = [cls.kind for cls in leaves(Event)]
    assert sorted(kinds) == sorted(EventKind)  # one class per kind, none shared


def test_entry_events_carry_entry_and_run_events_do_not() -> None:
    for event, _ in LINES:
        assert ("entry" in event.as_json()) is isinstance(event, EntryEvent)


def test_non_ascii_text_is_written_as_itself() -> None:
    line = EntryUnknown("café", reason="提示词 matches", at=AT).line()
    assert '"entry": "café"' in line and "提示词" in line


@pytest.mark.parametrize(
    ("code", "throttled"),
    [
        ("Throttling.RateQuota", True),
        ("Throttling.AllocationQuota", True),
        ("InternalError", False),
    ],
)
def test_a_retry_knows_whether_it_was_throttled(code: str, throttled: bool) -> None:
    retry = Retry(operation="create_task", attempt=1, code=code, message="")
    assert retry.throttled is throttled


@dataclass
class Collected:
    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)


def test_the_log_appends_each_line_and_hands_the_same_event_to_the_sinks(tmp_path: Path) -> None:
    path = tmp_path / "out" / "batch" / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"event": "run_finished", "ts": 1}\n')  # an earlier run's
    sink = Collected()
    log = EventLog(path, [sink])
    events = [event for event, _ in LINES[:3]]
    for event in events:
        log.emit(event)
        # flushed as written: a kill after this point loses nothing
        assert path.read_text(encoding="utf-8").endswith(event.line() + "\n")
    log.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == ['{"event": "run_finished", "ts": 1}', *(line for _, line in LINES[:3])]
    assert sink.events == events
