"""The answers of a task query and of the task list, built from the tasks as they stand."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kling_batch.simulator._clock import beijing_text, epoch_ms, parse_list_time
from kling_batch.simulator._config import ListZone, StoryboardEcho
from kling_batch.simulator._media import render_size
from kling_batch.simulator._protocol import Reply, invalid, json_reply
from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._tasks import Outcome, SimTask
from kling_batch.simulator._validation import CreateSpec

LIST_WINDOW_SECONDS = 24 * 3600
MAX_PAGE_SIZE = 100
REGION = "cn-beijing"
FPS = 24
_FAILURES = {
    Outcome.MODERATION: (
        "DataInspectionFailed",
        "Output data may contain inappropriate content.",
    ),
    Outcome.FAIL: ("InternalError.Algo", "Video generation failed, please try again later."),
}
# A task whose media the service inspected and refused: the message is the task's own.
MEDIA_FAILURE_CODE = "InvalidParameter.DataInspection"

VideoUrl = Callable[[SimTask, str], str]  # (task, file name) -> a signed URL


def query_answer(
    task_id: str,
    task: SimTask | None,
    now: float,
    request_id: str,
    storyboard_echo: StoryboardEcho,
    video_url: VideoUrl,
) -> Reply:
    status = task.status(now) if task is not None else TaskStatus.UNKNOWN
    output: dict[str, Any] = {"task_id": task_id, "task_status": status.value}
    payload: dict[str, Any] = {"request_id": request_id, "output": output}
    if task is None or status is TaskStatus.UNKNOWN:
        return json_reply(200, payload)
    output["submit_time"] = beijing_text(task.created_at)
    if task.scheduled_at is not None:
        output["scheduled_time"] = beijing_text(task.scheduled_at)
    if status.is_terminal and task.end_time is not None:
        output["end_time"] = beijing_text(task.end_time)
    echo = orig_prompt(task.spec, storyboard_echo)
    if echo is not None:
        output["orig_prompt"] = echo
    if status is TaskStatus.SUCCEEDED:
        output["video_url"] = video_url(task, "video.mp4")
        if task.spec.watermark:
            output["watermark_video_url"] = video_url(task, "video_watermark.mp4")
        payload["usage"] = usage(task.spec)
    elif status is TaskStatus.FAILED:
        if task.outcome is Outcome.BAD_MEDIA:
            output["code"], output["message"] = MEDIA_FAILURE_CODE, task.failure_message
        else:
            output["code"], output["message"] = _FAILURES[task.outcome]
    return json_reply(200, payload)


def list_answer(
    tasks: Iterable[SimTask], query: dict[str, str], now: float, zone: ListZone, request_id: str
) -> Reply:
    start_text, end_text = query.get("start_time"), query.get("end_time")
    try:
        start = parse_list_time(start_text, zone) if start_text else None
        end = parse_list_time(end_text, zone) if end_text else None
    except ValueError:
        shown = "Beijing time" if zone is ListZone.BEIJING else "UTC"
        raise invalid(f"start_time and end_time must be YYYYMMDDhhmmss ({shown})") from None
    # The reference's defaults: a missing side lies 24 h from the given one; neither given,
    # the last 24 h.
    if start is None:
        end = now if end is None else end
        start = end - LIST_WINDOW_SECONDS
    elif end is None:
        end = start + LIST_WINDOW_SECONDS
    if start > end:
        raise invalid("start_time must not be later than end_time")
    if end - start > LIST_WINDOW_SECONDS:
        raise invalid("The time between start_time and end_time must be at most 24 hours")
    page_no = _int_param(query, "page_no", 1, 1, None)
    page_size = _int_param(query, "page_size", 10, 1, MAX_PAGE_SIZE)
    status = query.get("status") or None
    if status is not None and status not in TaskStatus.__members__:
        raise invalid(f"status {status!r} is not one of: {', '.join(TaskStatus.__members__)}")
    model = query.get("model_name") or None
    task_id = query.get("task_id") or None
    # Times in the query have whole seconds: the end second is taken in full.
    rows = [
        task
        for task in tasks
        if start <= task.created_at < end + 1
        and (model is None or task.spec.model == model)
        and (task_id is None or task.task_id == task_id)
        and (status is None or task.status(now, expire=False) == status)
    ]
    rows.sort(key=lambda task: task.created_at, reverse=True)
    page = rows[(page_no - 1) * page_size : page_no * page_size]
    payload = {
        "request_id": request_id,
        "total": len(rows),
        "total_page": -(-len(rows) // page_size),
        "page_no": page_no,
        "page_size": page_size,
        "data": [_list_item(task, now) for task in page],
    }
    return json_reply(200, payload)


def usage(spec: CreateSpec) -> dict[str, Any]:
    width, height = render_size(spec)  # the served clip's size too
    return {
        "duration": spec.duration,
        "size": f"{width}*{height}",
        "fps": FPS,
        "video_count": 1,
        "audio": spec.audio,
        "SR": str(min(width, height)),
    }


def orig_prompt(spec: CreateSpec, storyboard_echo: StoryboardEcho) -> str | None:
    """What a query's orig_prompt holds; None leaves the key out."""
    if spec.prompt is not None:
        return spec.prompt
    if not spec.shot_prompts:  # e.g. a first frame without a prompt
        return None
    match storyboard_echo:
        case StoryboardEcho.ABSENT:
            return None
        case StoryboardEcho.EMPTY:
            return ""
        case StoryboardEcho.FIRST_SHOT:
            return spec.shot_prompts[0]


def _list_item(task: SimTask, now: float) -> dict[str, Any]:
    status = task.status(now, expire=False)
    item: dict[str, Any] = {
        "task_id": task.task_id,
        "status": status.value,
        "model_name": task.spec.model,
        "gmt_create": epoch_ms(task.created_at),
        "request_id": task.create_request_id,
        "region": REGION,
    }
    if task.scheduled_at is not None:
        item["start_time"] = epoch_ms(task.scheduled_at)
    if status.is_terminal and task.end_time is not None:
        item["end_time"] = epoch_ms(task.end_time)
    return item


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if not text:
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        top = f" to {high}" if high is not None else " or more"
        raise invalid(f"{name} must be an integer from {low}{top}, not {text!r}")
    return int(text)
