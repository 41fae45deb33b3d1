"""The entry lifecycle's rules, one table row each: (record, what happened, now) -> change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import anyio
import pytest

from kling_batch.api.types import Task, TaskStatus, Usage
from kling_batch.runner.clock import ManualClock
from kling_batch.runner.records import UNSETTLED, EntryRecord, EntryState, FileRecord
from kling_batch.runner.transitions import (
    EXPIRED,
    NOT_FOUND,
    downloaded,
    failed,
    task_seen,
    unsettled,
)

HOUR = 3600.0
SUBMITTED = 1_800_000_000.0
IN_FLIGHT = EntryRecord(
    entry_id="e",
    fingerprint="fp",
    model="m",
    state=EntryState.IN_FLIGHT,
    body_sha256="b",
    prompt_key="p",
    intent_at=SUBMITTED - 1,
    task_id="t",
    submitted_at=SUBMITTED,
)
ENDED = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "age_hours", "state", "code"),
    [
        (TaskStatus.PENDING, 0.1, EntryState.IN_FLIGHT, None),
        (TaskStatus.RUNNING, 1, EntryState.IN_FLIGHT, None),
        (TaskStatus.SUCCEEDED, 1, EntryState.SUCCEEDED, None),
        (TaskStatus.FAILED, 1, EntryState.FAILED, "DataInspectionFailed"),
        (TaskStatus.CANCELED, 1, EntryState.CANCELED, None),
        # The service forgets a task 24 h after its creation: gone then means expired ...
        (TaskStatus.UNKNOWN, 24.5, EntryState.EXPIRED, EXPIRED),
        # ... and gone before that means this service never knew it.
        (TaskStatus.UNKNOWN, 23.5, EntryState.UNKNOWN, NOT_FOUND),
    ],
)
def test_a_task_seen_decides_the_entrys_state(
    status: TaskStatus, age_hours: float, state: EntryState, code: str | None
) -> None:
    task = Task(
        "t",
        status,
        code="DataInspectionFailed" if status is TaskStatus.FAILED else None,
        message="moderated" if status is TaskStatus.FAILED else None,
        end_time=ENDED,
    )
    change = task_seen(IN_FLIGHT, task, SUBMITTED + age_hours * HOUR)
    assert change.state is state
    assert change.task_status is status
    assert change.error_code == code


def test_a_success_carries_urls_usage_and_the_time_it_was_seen() -> None:
    task = Task(
        "t",
        TaskStatus.SUCCEEDED,
        video_url="https://v/video.mp4",
        watermark_video_url="https://v/wm.mp4",
        end_time=ENDED,
        usage=Usage(duration=5, sr="720", audio=False),
    )
    now = SUBMITTED + 90
    change = task_seen(IN_FLIGHT, task, now)
    assert (change.video_url, change.watermark_video_url) == (
        "https://v/video.mp4",
        "https://v/wm.mp4",
    )
    assert change.urls_fetched_at == now and change.finished_at == ENDED.timestamp()
    assert change.billed_seconds == 5 and change.usage == {
        "duration": 5,
        "sr": "720",
        "audio": False,
    }


def test_a_failure_without_words_still_says_what_happened() -> None:
    change = task_seen(IN_FLIGHT, Task("t", TaskStatus.FAILED), SUBMITTED + 60)
    assert change.error_code == "TaskFailed" and change.error_message


def test_the_expiry_message_names_the_age_and_the_way_out() -> None:
    change = task_seen(IN_FLIGHT, Task("t", TaskStatus.UNKNOWN), SUBMITTED + 30 * HOUR)
    assert change.error_message is not None
    assert "30.0 h ago" in change.error_message and "--retry-failed" in change.error_message


def test_the_other_changes() -> None:
    assert failed("NoVideo", "no url").columns() == {
        "state": EntryState.FAILED,
        "error_code": "NoVideo",
        "error_message": "no url",
    }
    left = unsettled("2 look-alikes")
    assert left.state is EntryState.UNKNOWN and left.error_code == UNSETTLED
    assert "2 look-alikes" in (left.error_message or "")
    files = (FileRecord("video.mp4", 10, "abc"),)
    assert downloaded(files).columns() == {"state": EntryState.DONE, "files": files}


def test_a_change_leaves_unset_columns_alone() -> None:
    change = task_seen(IN_FLIGHT, Task("t", TaskStatus.RUNNING), SUBMITTED + 60)
    assert set(change.columns()) == {"state", "task_status"}
    with_request = task_seen(
        IN_FLIGHT, dataclasses.replace(Task("t", TaskStatus.RUNNING), request_id="r"), 0.0
    )
    assert with_request.columns()["request_id"] == "r"


@pytest.mark.anyio
async def test_the_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=100.0)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep(30)
        woke.append(clock.now())

    async with anyio.create_task_group() as group:
        group.start_soon(sleeper)
        await anyio.sleep(0)
        clock.advance(10)
        await anyio.sleep(0)
        assert woke == []  # 10 of its 30 s
        clock.advance(25)
    assert woke == [135.0]
    assert clock.monotonic() == 35.0
