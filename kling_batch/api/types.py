"""Typed views of DashScope's answers: what the client returns and the runner stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # the task does not exist, or is older than 24 h

    @property
    def is_terminal(self) -> bool:
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING)


@dataclass(frozen=True)
class Usage:
    """`usage` of a succeeded task; `duration` is the billed duration in seconds."""

    duration: int | None = None
    size: str | None = None
    fps: int | None = None
    video_count: int | None = None
    audio: bool | None = None
    sr: str | None = None


@dataclass(frozen=True)
class Task:
    """One answer of create (status and id only) or query (everything the service said)."""

    task_id: str
    status: TaskStatus
    request_id: str | None = None
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    orig_prompt: str | None = None
    video_url: str | None = None
    watermark_video_url: str | None = None
    code: str | None = None
    message: str | None = None
    usage: Usage | None = None
    # The decoded JSON as received, for task.json / polls.jsonl.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class TaskListItem:
    """One row of the task list: enough to reconcile a submission whose answer was lost."""

    task_id: str
    status: TaskStatus
    model_name: str | None
    created_at: datetime | None  # gmt_create
    request_id: str | None = None


@dataclass(frozen=True)
class Upload:
    """A local file uploaded to a temporary `oss://` URL, valid for one model, 48 h."""

    url: str
    model: str
    sha256: str
    size: int
    expires_at: datetime
