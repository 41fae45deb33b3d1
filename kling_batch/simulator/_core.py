"""The simulated service: one state machine behind every endpoint, whatever carries the bytes.

`Simulator.handle` turns a `SimRequest` into a `Reply` under one lock and never blocks; the
in-process transport and the loopback server only carry bytes and act out the reply's
instructions (wait, reset, hang, cut the body short).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kling_batch.hashing import sha256_json
from kling_batch.simulator._clock import SimClock, beijing_text, epoch_ms, parse_list_time
from kling_batch.simulator._config import (
    Faults,
    ListZone,
    LostAnswer,
    SimulatorConfig,
    StoryboardEcho,
)
from kling_batch.simulator._dice import Dice
from kling_batch.simulator._media import UnsatisfiableRange, parse_range, task_clip
from kling_batch.simulator._multipart import MalformedForm, parse_form
from kling_batch.simulator._protocol import (
    Action,
    ApiError,
    OssError,
    Reply,
    SimRequest,
    invalid,
    json_reply,
    new_request_id,
)
from kling_batch.simulator._ratelimit import TokenBucket, retry_after
from kling_batch.simulator._stats import Counters, Endpoint, FaultKind, SimulatorStats
from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._tasks import Outcome, SimTask, Slots
from kling_batch.simulator._uploads import ACCESS_KEY_ID, UPLOAD_PATH, StoredObject, UploadHost
from kling_batch.simulator._validation import MODELS, CreateSpec, parse_body, validate_create

API_PREFIX = "/api/v1"
CREATE_PATH = API_PREFIX + "/services/aigc/video-generation/video-synthesis"
FILES_PREFIX = "/__files/"
CONTROL_PREFIX = "/__sim/"
VIDEO_NAMES = {"video.mp4": False, "video_watermark.mp4": True}  # name -> has the watermark
URL_SECONDS = 30 * 24 * 3600  # video URLs stay valid 30 days
LIST_WINDOW_SECONDS = 24 * 3600
MAX_PAGE_SIZE = 100
REGION = "cn-beijing"
FPS = 24
_SIZES = {"std": (1280, 720), "pro": (1920, 1080)}
_TASK_PATH = re.compile(r"/tasks/([^/]+)")
_CANCEL_PATH = re.compile(r"/tasks/([^/]+)/cancel")
_FILE_PATH = re.compile(re.escape(FILES_PREFIX) + r"([^/]+)/([^/]+)")
_API_ENDPOINTS = (Endpoint.CREATE, Endpoint.QUERY, Endpoint.LIST, Endpoint.CANCEL, Endpoint.POLICY)
_OSS_ENDPOINTS = (Endpoint.UPLOAD, Endpoint.DOWNLOAD)

# Prompt hooks: deterministic outcomes for tests, documented in the package docstring.
HOOK_FAIL = "[sim:fail]"
HOOK_MODERATION = "[sim:moderation]"
HOOK_SLOW = "[sim:slow]"
HOOK_LOST = "[sim:lost]"
HOOK_LOST_RESET = "[sim:lost-reset]"
HOOK_ERROR = "[sim:error]"
SLOW_HOOK_FACTOR = 5.0


@dataclass(frozen=True)
class _Route:
    endpoint: Endpoint
    task_id: str = ""
    file_name: str = ""


class Simulator:
    """The simulated DashScope account: a clock, tasks, uploads and what was seen.

    Thread-safe: the loopback server's thread and the test's thread may both use it.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self._config = config if config is not None else SimulatorConfig()
        self._clock = SimClock(self._config.speed)
        self._dice = Dice(self._config.seed)
        self._lock = threading.RLock()
        self._tasks: dict[str, SimTask] = {}
        self._slots = Slots(self._config.slots)
        self._uploads = UploadHost()
        self._counters = Counters()
        self._arrivals: Counter[tuple[str, ...]] = Counter()
        self._create_attempts: Counter[str] = Counter()
        self._buckets: dict[str, TokenBucket] = {}
        self._url_secret = secrets.token_bytes(32)

    # -- the test's handle -------------------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self._config

    def set_faults(self, faults: Faults) -> None:
        """Change the faults from now on (e.g. switch them off to let a run finish)."""
        with self._lock:
            self._config = dataclasses.replace(self._config, faults=faults)

    def set_arrearage(self, arrearage: bool) -> None:
        with self._lock:
            self._config = dataclasses.replace(self._config, arrearage=arrearage)

    def now(self) -> float:
        """Simulated time, seconds since the epoch."""
        return self._clock.now()

    def advance(self, seconds: float) -> None:
        """Move simulated time on: renders progress, task ids and policies expire."""
        with self._lock:
            self._clock.advance(seconds)

    def stats(self) -> SimulatorStats:
        with self._lock:
            now = self._clock.now()
            self._slots.settle(now)
            statuses = Counter(str(task.status(now, expire=False)) for task in self._tasks.values())
            return self._counters.snapshot(
                peak_running=self._slots.peak_running,
                running=self._slots.running,
                pending=self._slots.pending,
                statuses=statuses,
            )

    def task_status(self, task_id: str) -> TaskStatus:
        """What a query of `task_id` would answer now."""
        with self._lock:
            now = self._clock.now()
            self._slots.settle(now)
            task = self._tasks.get(task_id)
            return task.status(now) if task is not None else TaskStatus.UNKNOWN

    def uploads(self) -> tuple[StoredObject, ...]:
        with self._lock:
            return self._uploads.objects()

    # -- the service -------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> Reply:
        route = _route(request)
        if route.endpoint is Endpoint.CONTROL:
            return self._control(request)
        request_id = new_request_id()
        with self._lock:
            self._counters.requests[route.endpoint] += 1
            identity = (route.endpoint, request.method, request.path, _body_key(request.body))
            arrival = self._arrivals[identity]
            self._arrivals[identity] += 1
            faults = self._config.faults
            if self._injects(FaultKind.RESET, faults.reset, *identity, arrival):
                return Reply(action=Action.RESET)
            if self._injects(FaultKind.SERVER_ERROR, faults.server_error, *identity, arrival):
                return self._server_error(route.endpoint, request_id, *identity, arrival)
            slow = self._injects(FaultKind.SLOW, faults.slow, *identity, arrival)
            try:
                reply = self._dispatch(route, request, request_id, arrival)
            except (ApiError, OssError) as error:
                reply = error.reply(request_id)
            if reply.status == 429:
                self._counters.throttled[route.endpoint] += 1
        if slow:
            reply = dataclasses.replace(reply, delay=reply.delay + faults.slow_seconds)
        return reply

    def _dispatch(self, route: _Route, request: SimRequest, request_id: str, arrival: int) -> Reply:
        if route.endpoint in _API_ENDPOINTS or route.endpoint is Endpoint.OTHER:
            self._authorize(request)
        match route.endpoint:
            case Endpoint.CREATE:
                return self._create(request, request_id)
            case Endpoint.QUERY:
                return self._query(route.task_id, request.origin, request_id)
            case Endpoint.LIST:
                return self._list(request, request_id)
            case Endpoint.CANCEL:
                return self._cancel(route.task_id, request_id)
            case Endpoint.POLICY:
                return self._policy(request, request_id)
            case Endpoint.UPLOAD:
                return self._upload(request, request_id)
            case Endpoint.DOWNLOAD:
                return self._download(route, request, arrival)
        raise ApiError(404, "NotFound", f"No such API: {request.method} {request.path}")

    def _authorize(self, request: SimRequest) -> None:
        scheme, _, key = (request.header("authorization") or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, "InvalidApiKey", "No API-key provided.")
        expected = self._config.api_key
        if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
            raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")
        if self._config.arrearage:
            # 400, although the account and not the request is at fault: clients decide by code.
            raise ApiError(
                400,
                "Arrearage",
                "Access denied, please make sure your account is in good standing.",
            )

    def _throttle(self, bucket: str, rate: float | None) -> None:
        if rate is None:
            return
        if bucket not in self._buckets:
            self._buckets[bucket] = TokenBucket(rate, self._config.burst_seconds)
        wait = self._buckets[bucket].take()
        if wait > 0:
            raise ApiError(
                429,
                "Throttling.RateQuota",
                "Requests rate limit exceeded, please try again later.",
                ("Retry-After", retry_after(wait)),
            )

    def _injects(self, kind: FaultKind, probability: float, *key: object) -> bool:
        if self._dice.hits(probability, kind, *key):
            self._counters.faults[kind] += 1
            return True
        return False

    def _server_error(self, endpoint: Endpoint, request_id: str, *key: object) -> Reply:
        if self._dice.roll("server_error_code", *key) < 0.5:
            status, code, message = (
                500,
                "InternalError",
                "An internal error has occured, please try again later or contact service support.",
            )
        else:
            status, code, message = (
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable, please try again later.",
            )
        if endpoint in _OSS_ENDPOINTS:
            return OssError(status, code, message).reply(request_id)
        return ApiError(status, code, message).reply(request_id)

    # -- create ------------------------------------------------------------------------------

    def _create(self, request: SimRequest, request_id: str) -> Reply:
        self._throttle("create", self._config.submit_rate)
        if (request.header("x-dashscope-async") or "").lower() != "enable":
            raise ApiError(
                403, "AccessDenied", "current user api does not support synchronous calls"
            )
        body = parse_body(request.body)
        spec = validate_create(body)
        now = self._clock.now()
        if spec.oss_keys:
            if (request.header("x-dashscope-ossresourceresolve") or "").lower() != "enable":
                raise invalid(
                    "input.media has an oss:// URL: send the header "
                    "X-DashScope-OssResourceResolve: enable with it"
                )
            for key in spec.oss_keys:
                self._uploads.resolve(key, spec.model, now)
        self._slots.settle(now)
        queued = self._config.max_queued
        if queued is not None and self._slots.pending >= queued:
            raise ApiError(
                429,
                "Throttling.AllocationQuota",
                f"Too many tasks waiting: {queued} PENDING already.",
                ("Retry-After", "5"),
            )
        body_sha = sha256_json(body)
        tried = self._create_attempts[body_sha]
        self._create_attempts[body_sha] += 1
        first = tried == 0
        if first and HOOK_ERROR in spec.hook_text:
            self._counters.faults[FaultKind.SERVER_ERROR] += 1
            return self._server_error(Endpoint.CREATE, request_id, body_sha, tried)
        task = self._new_task(spec, body_sha, tried, request_id, now)
        self._tasks[task.task_id] = task
        self._slots.submit(task, now)
        self._counters.creates_by_body[body_sha] += 1
        lost: LostAnswer | None = None
        if first and HOOK_LOST_RESET in spec.hook_text:
            lost = LostAnswer.RESET
        elif (first and HOOK_LOST in spec.hook_text) or self._dice.hits(
            self._config.faults.lost_create, FaultKind.LOST_CREATE, body_sha, tried
        ):
            lost = self._config.faults.lost_answer
        if lost is not None:
            self._counters.faults[FaultKind.LOST_CREATE] += 1
            if lost is LostAnswer.SERVER_ERROR:
                return self._server_error(Endpoint.CREATE, request_id, body_sha, tried)
            return Reply(action=Action.RESET if lost is LostAnswer.RESET else Action.HANG)
        output = {"task_status": TaskStatus.PENDING.value, "task_id": task.task_id}
        return json_reply(200, {"output": output, "request_id": request_id})

    def _new_task(
        self, spec: CreateSpec, body_sha: str, tried: int, request_id: str, now: float
    ) -> SimTask:
        faults = self._config.faults
        spread = self._config.render_jitter * (2.0 * self._dice.roll("render", body_sha, tried) - 1)
        render = self._config.render_seconds * (1.0 + spread)
        if HOOK_SLOW in spec.hook_text:
            render *= SLOW_HOOK_FACTOR
        if HOOK_MODERATION in spec.hook_text or self._dice.hits(
            faults.moderation, FaultKind.MODERATION, body_sha, tried
        ):
            outcome = Outcome.MODERATION
            self._counters.faults[FaultKind.MODERATION] += 1
        elif HOOK_FAIL in spec.hook_text or self._dice.hits(
            faults.task_failed, FaultKind.TASK_FAILED, body_sha, tried
        ):
            outcome = Outcome.FAIL
            self._counters.faults[FaultKind.TASK_FAILED] += 1
        else:
            outcome = Outcome.SUCCEED
        return SimTask(
            task_id=self._dice.uuid("task", body_sha, tried),
            create_request_id=request_id,
            spec=spec,
            body_sha256=body_sha,
            created_at=now,
            render_seconds=render,
            outcome=outcome,
        )

    # -- query, list, cancel -----------------------------------------------------------------

    def _query(self, task_id: str, origin: str, request_id: str) -> Reply:
        self._throttle("query", self._config.query_rate)
        now = self._clock.now()
        self._slots.settle(now)
        task = self._tasks.get(task_id)
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
        echo = _orig_prompt(task.spec, self._config.storyboard_echo)
        if echo is not None:
            output["orig_prompt"] = echo
        if status is TaskStatus.SUCCEEDED:
            output["video_url"] = self._video_url(origin, task, "video.mp4")
            if task.spec.watermark:
                output["watermark_video_url"] = self._video_url(origin, task, "video_watermark.mp4")
            payload["usage"] = _usage(task.spec)
        elif status is TaskStatus.FAILED:
            if task.outcome is Outcome.MODERATION:
                output["code"] = "DataInspectionFailed"
                output["message"] = "Output data may contain inappropriate content."
            else:
                output["code"] = "InternalError.Algo"
                output["message"] = "Video generation failed, please try again later."
        return json_reply(200, payload)

    def _list(self, request: SimRequest, request_id: str) -> Reply:
        self._throttle("list", self._config.list_rate)
        query = request.query
        now = self._clock.now()
        self._slots.settle(now)
        zone = self._config.list_zone
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
            for task in self._tasks.values()
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

    def _cancel(self, task_id: str, request_id: str) -> Reply:
        self._throttle("cancel", self._config.cancel_rate)
        now = self._clock.now()
        task = self._tasks.get(task_id)
        if (
            task is None
            or task.status(now) is TaskStatus.UNKNOWN
            or not self._slots.cancel(task, now)
        ):
            raise ApiError(
                400,
                "UnsupportedOperation",
                "Failed to cancel the task, please confirm if the task is in PENDING status.",
            )
        self._counters.cancels += 1
        return json_reply(200, {"request_id": request_id})

    # -- temporary files ---------------------------------------------------------------------

    def _policy(self, request: SimRequest, request_id: str) -> Reply:
        action, model = request.query.get("action"), request.query.get("model")
        if action != "getPolicy":
            raise invalid(f"action must be getPolicy, not {action!r}")
        if not model:
            raise invalid("model is required: the exact model name the file will be used with")
        if model not in MODELS:
            raise ApiError(404, "ModelNotFound", f"Model not exist: {model!r}.")
        self._throttle(f"policy:{model}", self._config.policy_rate)
        data = self._uploads.policy(model, request.origin, self._clock.now())
        return json_reply(200, {"request_id": request_id, "data": data})

    def _upload(self, request: SimRequest, request_id: str) -> Reply:
        try:
            parts = parse_form(request.header("content-type"), request.body)
        except MalformedForm as error:
            raise OssError(400, "InvalidArgument", f"Malformed POST form: {error}.") from None
        stored = self._uploads.receive(parts, self._clock.now())
        self._counters.uploads += 1
        headers = (("x-oss-request-id", request_id), ("ETag", f'"{stored.sha256[:32].upper()}"'))
        wanted = next((p.data for p in parts if p.name == "success_action_status"), b"")
        if wanted == b"200":
            return Reply(200, headers)
        return Reply(204, headers)

    # -- result videos -----------------------------------------------------------------------

    def _video_url(self, origin: str, task: SimTask, name: str) -> str:
        expires = int((task.end_time or task.created_at) + URL_SECONDS)
        signature = self._sign_file(task.task_id, name, expires)
        return (
            f"{origin}{FILES_PREFIX}{task.task_id}/{name}"
            f"?Expires={expires}&OSSAccessKeyId={ACCESS_KEY_ID}&Signature={signature}"
        )

    def _sign_file(self, task_id: str, name: str, expires: int) -> str:
        text = f"{task_id}/{name}:{expires}".encode()
        digest = hmac.new(self._url_secret, text, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def _download(self, route: _Route, request: SimRequest, arrival: int) -> Reply:
        now = self._clock.now()
        self._slots.settle(now)
        task = self._tasks.get(route.task_id)
        watermark = VIDEO_NAMES.get(route.file_name)
        if (
            task is None
            or watermark is None
            or task.status(now, expire=False) is not TaskStatus.SUCCEEDED
            or (watermark and not task.spec.watermark)
        ):
            raise OssError(404, "NoSuchKey", "The specified key does not exist.")
        expires = request.query.get("Expires", "")
        signature = request.query.get("Signature", "")
        if not expires.isdigit() or not hmac.compare_digest(
            signature, self._sign_file(task.task_id, route.file_name, int(expires))
        ):
            raise OssError(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if now > int(expires):
            raise OssError(403, "AccessDenied", "Request has expired.")
        data = task_clip(task.task_id, watermark)
        headers = [
            ("Content-Type", "video/mp4"),
            ("Accept-Ranges", "bytes"),
            ("ETag", f'"{hashlib.md5(data).hexdigest().upper()}"'),
        ]
        try:
            wanted = parse_range(request.header("range"), len(data))
        except UnsatisfiableRange:
            error = OssError(416, "InvalidRange", "The requested range is not satisfiable.")
            reply = error.reply(new_request_id())
            return dataclasses.replace(
                reply, headers=(*reply.headers, ("Content-Range", f"bytes */{len(data)}"))
            )
        status, body = 200, data
        if wanted is not None:
            status, body = 206, data[wanted.start : wanted.end + 1]
            headers.append(("Content-Range", f"bytes {wanted.start}-{wanted.end}/{len(data)}"))
        if request.method == "HEAD":
            return Reply(status, tuple(headers), b"", body_length=len(body))
        self._counters.downloads += 1
        cut: int | None = None
        key = (route.task_id, route.file_name, arrival)
        if body and self._injects(
            FaultKind.TRUNCATED_DOWNLOAD, self._config.faults.truncated_download, *key
        ):
            cut = int(len(body) * (0.1 + 0.8 * self._dice.roll("cut", *key)))
        return Reply(status, tuple(headers), body, truncate_at=cut)

    # -- the test's endpoints ----------------------------------------------------------------

    def _control(self, request: SimRequest) -> Reply:
        if request.path == CONTROL_PREFIX + "stats" and request.method == "GET":
            return json_reply(200, self.stats().to_json())
        if request.path == CONTROL_PREFIX + "advance" and request.method == "POST":
            try:
                seconds = float(request.query.get("seconds", ""))
                self.advance(seconds)
            except ValueError:
                return json_reply(400, {"message": "advance takes ?seconds=N, N >= 0"})
            return json_reply(200, {"now": self.now()})
        return json_reply(404, {"message": f"no such control endpoint: {request.path}"})


def _route(request: SimRequest) -> _Route:
    path, method = request.path, request.method
    if path.startswith(CONTROL_PREFIX):
        return _Route(Endpoint.CONTROL)
    if path.rstrip("/") == UPLOAD_PATH and method == "POST":
        return _Route(Endpoint.UPLOAD)
    if (match := _FILE_PATH.fullmatch(path)) and method in ("GET", "HEAD"):
        return _Route(Endpoint.DOWNLOAD, match.group(1), match.group(2))
    if not path.startswith(API_PREFIX + "/"):
        return _Route(Endpoint.OTHER)
    rest = path.removeprefix(API_PREFIX)
    if path == CREATE_PATH and method == "POST":
        return _Route(Endpoint.CREATE)
    if rest in ("/tasks", "/tasks/") and method == "GET":
        return _Route(Endpoint.LIST)
    if (match := _TASK_PATH.fullmatch(rest)) and method == "GET":
        return _Route(Endpoint.QUERY, match.group(1))
    if (match := _CANCEL_PATH.fullmatch(rest)) and method == "POST":
        return _Route(Endpoint.CANCEL, match.group(1))
    if rest == "/uploads" and method == "GET":
        return _Route(Endpoint.POLICY)
    return _Route(Endpoint.OTHER)


def _body_key(body: bytes) -> str:
    """The same JSON value gives the same key, however it was spelled."""
    try:
        return sha256_json(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return hashlib.sha256(body).hexdigest()


def _usage(spec: CreateSpec) -> dict[str, Any]:
    long_side, short_side = _SIZES[spec.mode]
    width, height = {
        "16:9": (long_side, short_side),
        "9:16": (short_side, long_side),
        "1:1": (short_side, short_side),
    }[spec.aspect_ratio]
    return {
        "duration": spec.duration,
        "size": f"{width}*{height}",
        "fps": FPS,
        "video_count": 1,
        "audio": spec.audio,
        "SR": str(short_side),
    }


def _orig_prompt(spec: CreateSpec, storyboard_echo: StoryboardEcho) -> str | None:
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
