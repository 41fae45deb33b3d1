"""DashScope's JSON answers and time formats, turned into the typed values of `types.py`.

Everything that knows a field name of an answer is here. A missing or ill-typed field that the
caller needs raises `MalformedAnswer`; the client treats that like any unreadable answer.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from kling_batch.api.types import Task, TaskListItem, TaskStatus, Usage

# DashScope's task times ("2026-03-27 21:30:32.575") and the list's start_time/end_time query
# parameters are Beijing wall-clock time, which has had no daylight saving since 1991.
BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
LIST_TIME_FORMAT = "%Y%m%d%H%M%S"


class MalformedAnswer(ValueError):
    """An answer that is not the JSON shape DashScope documents for that call."""


# --- generic ----------------------------------------------------------------------------------


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedAnswer(f"not JSON: {_preview(text)}") from None
    if not isinstance(value, dict):
        raise MalformedAnswer(f"JSON but not an object: {_preview(text)}")
    return value


def error_fields(text: str) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) of an error answer, all None when the body is unreadable."""
    try:
        data = json_object(text)
    except MalformedAnswer:
        return None, None, None
    return _opt_str(data, "code"), _opt_str(data, "message"), _opt_str(data, "request_id")


def oss_error_fields(text: str) -> tuple[str | None, str | None, str | None]:
    """(Code, Message, RequestId) of an OSS XML error; None for what is not there."""

    def element(name: str) -> str | None:
        found = re.search(rf"<{name}>([^<]*)</{name}>", text)
        return found.group(1).strip() if found else None

    return element("Code"), element("Message"), element("RequestId")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


# --- times ------------------------------------------------------------------------------------


def beijing_time(value: object) -> datetime | None:
    """A DashScope task time (Beijing local, e.g. "2026-03-27 21:30:32.575") as aware UTC.

    Times are informative only, so an odd one gives None instead of failing a poll.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=BEIJING)
    return local.astimezone(UTC)


def epoch_ms(value: object) -> datetime | None:
    """A list row's epoch-milliseconds time as aware UTC; None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def list_time(moment: datetime, zone: tzinfo = BEIJING) -> str:
    """An aware datetime as the list call's `YYYYMMDDhhmmss`, written in `zone`."""
    if moment.tzinfo is None:
        raise ValueError("list_tasks needs timezone-aware datetimes (naive time is ambiguous)")
    return moment.astimezone(zone).strftime(LIST_TIME_FORMAT)


# --- tasks ------------------------------------------------------------------------------------


def task_status(value: object) -> TaskStatus:
    try:
        return TaskStatus(str(value))
    except ValueError:
        raise MalformedAnswer(f"unknown task status {value!r}") from None


def created_task(data: dict[str, Any]) -> Task:
    """The answer to a create: the new task's id and status."""
    output = _object(data, "output")
    return Task(
        task_id=_str(output, "task_id"),
        status=task_status(output.get("task_status")),
        request_id=_opt_str(data, "request_id"),
        raw=data,
    )


def queried_task(data: dict[str, Any]) -> Task:
    """The answer to a query: everything the service says about one task."""
    output = _object(data, "output")
    usage = data.get("usage")
    return Task(
        task_id=_str(output, "task_id"),
        status=task_status(output.get("task_status")),
        request_id=_opt_str(data, "request_id"),
        submit_time=beijing_time(output.get("submit_time")),
        scheduled_time=beijing_time(output.get("scheduled_time")),
        end_time=beijing_time(output.get("end_time")),
        orig_prompt=_opt_str(output, "orig_prompt"),
        video_url=_opt_str(output, "video_url"),
        watermark_video_url=_opt_str(output, "watermark_video_url"),
        code=_opt_str(output, "code"),
        message=_opt_str(output, "message"),
        usage=_usage(usage) if isinstance(usage, dict) else None,
        raw=data,
    )


def _usage(data: dict[str, Any]) -> Usage:
    audio = data.get("audio")
    return Usage(
        duration=_opt_int(data, "duration"),
        size=_opt_str(data, "size"),
        fps=_opt_int(data, "fps"),
        video_count=_opt_int(data, "video_count"),
        audio=audio if isinstance(audio, bool) else None,
        sr=_opt_str(data, "SR"),
    )


@dataclass(frozen=True)
class TaskListPage:
    items: tuple[TaskListItem, ...]
    page_no: int
    total_pages: int


def task_list_page(data: dict[str, Any]) -> TaskListPage:
    rows = data.get("data")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise MalformedAnswer("task list: `data` is not a list")
    items = []
    for row in rows:
        if not isinstance(row, dict):
            raise MalformedAnswer("task list: a row is not an object")
        items.append(
            TaskListItem(
                task_id=_str(row, "task_id"),
                status=task_status(row.get("status")),
                model_name=_opt_str(row, "model_name"),
                created_at=epoch_ms(row.get("gmt_create")),
                request_id=_opt_str(row, "request_id"),
            )
        )
    return TaskListPage(
        items=tuple(items),
        page_no=_opt_int(data, "page_no") or 1,
        total_pages=_opt_int(data, "total_page") or 0,
    )


# --- uploads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadPolicy:
    """`data` of getPolicy: the signed form that lets one POST put one file on DashScope's OSS."""

    policy: str
    signature: str
    upload_dir: str
    upload_host: str
    oss_access_key_id: str
    x_oss_object_acl: str
    x_oss_forbid_overwrite: str
    expire_in_seconds: int | None
    max_file_size_mb: int | None


def upload_policy(data: dict[str, Any]) -> UploadPolicy:
    body = _object(data, "data")
    return UploadPolicy(
        policy=_str(body, "policy"),
        signature=_str(body, "signature"),
        upload_dir=_str(body, "upload_dir"),
        upload_host=_str(body, "upload_host"),
        oss_access_key_id=_str(body, "oss_access_key_id"),
        x_oss_object_acl=_str(body, "x_oss_object_acl"),
        x_oss_forbid_overwrite=_str(body, "x_oss_forbid_overwrite"),
        expire_in_seconds=_opt_int(body, "expire_in_seconds"),
        max_file_size_mb=_opt_int(body, "max_file_size_mb"),
    )


# --- field access -----------------------------------------------------------------------------


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise MalformedAnswer(f"`{key}` is missing or not an object")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise MalformedAnswer(f"`{key}` is missing or not a string")
    return str(value)


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value)


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:120] + ("..." if len(text) > 120 else ""))
