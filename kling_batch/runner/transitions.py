"""Every rule of what an entry's record becomes after something happened to it, as pure data.

Each function takes what the store remembers of an entry, what just happened (a task as a query
showed it, a failure, a download) and the time from the caller's clock, and returns the change
to persist; it reads no clock and does no I/O, so each rule can be tested as a table row. The
store persists a change in one transaction (`StateStore.apply`); the runner does the I/O.

    task seen   PENDING/RUNNING -> in_flight     SUCCEEDED -> succeeded (urls, usage)
                FAILED -> failed (code)          CANCELED -> canceled
                UNKNOWN, 24 h after submission -> expired;  younger -> unknown (not found)
    failure     -> failed (or unknown, for a create the list could not settle)
    downloaded  -> done (files)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from kling_batch.api.types import Task, TaskStatus
from kling_batch.runner.records import (
    TASK_ID_HOURS,
    UNSETTLED,
    EntryRecord,
    EntryState,
    FileRecord,
)

EXPIRED = "TaskExpired"
NOT_FOUND = "TaskNotFound"


@dataclass(frozen=True)
class RecordChange:
    """The columns of an entry's record a transition sets; None leaves a column as it is."""

    state: EntryState | None = None
    task_status: TaskStatus | None = None
    request_id: str | None = None
    video_url: str | None = None
    watermark_video_url: str | None = None
    urls_fetched_at: float | None = None
    finished_at: float | None = None
    usage: dict[str, Any] | None = None
    billed_seconds: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    files: tuple[FileRecord, ...] | None = None

    def columns(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def task_seen(record: EntryRecord, task: Task, now: float) -> RecordChange:
    """A query (or a create, or an adoption) showed the entry's task: its status decides."""
    request_id = task.request_id or None
    match task.status:
        case TaskStatus.SUCCEEDED:
            usage = task.usage
            return RecordChange(
                state=EntryState.SUCCEEDED,
                task_status=task.status,
                request_id=request_id,
                video_url=task.video_url,
                watermark_video_url=task.watermark_video_url,
                urls_fetched_at=now,
                finished_at=_epoch(task.end_time),
                usage=_usage(task),
                billed_seconds=usage.duration if usage is not None else None,
            )
        case TaskStatus.FAILED:
            return RecordChange(
                state=EntryState.FAILED,
                task_status=task.status,
                request_id=request_id,
                error_code=task.code or "TaskFailed",
                error_message=task.message or "the task failed without a message",
                finished_at=_epoch(task.end_time),
            )
        case TaskStatus.CANCELED:
            return RecordChange(
                state=EntryState.CANCELED,
                task_status=task.status,
                request_id=request_id,
                finished_at=_epoch(task.end_time),
            )
        case TaskStatus.UNKNOWN:
            return _task_gone(record, task, now)
    return RecordChange(state=EntryState.IN_FLIGHT, task_status=task.status, request_id=request_id)


def failed(
    code: str,
    message: str,
    request_id: str | None = None,
    *,
    state: EntryState = EntryState.FAILED,
) -> RecordChange:
    """The entry failed here (a rejected create, no video, a refused upload)."""
    return RecordChange(state=state, error_code=code, error_message=message, request_id=request_id)


def unsettled(reason: str) -> RecordChange:
    """A create the task list could not settle (yet): maybe billed, maybe not."""
    return failed(
        UNSETTLED,
        f"could not tell yet whether the create reached the service ({reason}); "
        "the next run looks again while the task list covers it (24 h); "
        "`kling-batch audit` shows the candidates, `run --resubmit-unknown` sends it anyway",
        state=EntryState.UNKNOWN,
    )


def downloaded(files: tuple[FileRecord, ...]) -> RecordChange:
    """Every file of the entry is on disk and verified."""
    return RecordChange(state=EntryState.DONE, files=files)


def task_age_hours(record: EntryRecord, now: float) -> float:
    return (now - (record.submitted_at or record.intent_at)) / 3600


def _task_gone(record: EntryRecord, task: Task, now: float) -> RecordChange:
    age = task_age_hours(record, now)
    if age >= TASK_ID_HOURS:
        # The service forgets a task id 24 h after its creation (dashscope-kling-api.md, "Query").
        return RecordChange(
            state=EntryState.EXPIRED,
            task_status=task.status,
            error_code=EXPIRED,
            error_message=f"DashScope no longer knows task {task.task_id} (submitted "
            f"{age:.1f} h ago; task ids are kept {TASK_ID_HOURS} h) and its video was never "
            "downloaded; `run --retry-failed` renders it again (and pays again)",
        )
    # Too young to have expired: this service does not know the task at all (another account,
    # region or base URL). Whether it renders elsewhere cannot be told from here, so it is not
    # sent again blindly.
    return RecordChange(
        state=EntryState.UNKNOWN,
        task_status=task.status,
        error_code=NOT_FOUND,
        error_message=f"the service does not know task {task.task_id}, submitted "
        f"{age * 60:.0f} min ago (another account, region or base URL?); check, then "
        "`run --resubmit-unknown` renders it again",
    )


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _usage(task: Task) -> dict[str, Any] | None:
    if task.usage is None:
        return None
    return {key: value for key, value in task.usage.__dict__.items() if value is not None}
