"""The simulated service: one state machine behind every endpoint, whatever carries the bytes.

`Simulator.handle` turns a `SimRequest` into a `Reply` under one lock and never blocks; the
in-process transport and the loopback server only carry bytes and act out the reply's
instructions (wait, reset, hang, cut the body short).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import Counter

from kling_batch.hashing import sha256_json
from kling_batch.simulator._account import authorize
from kling_batch.simulator._clock import SimClock
from kling_batch.simulator._config import Faults, LostAnswer, SimulatorConfig
from kling_batch.simulator._dice import Dice
from kling_batch.simulator._downloads import VideoFiles
from kling_batch.simulator._protocol import (
    Action,
    ApiError,
    OssError,
    Reply,
    SimRequest,
    invalid,
    json_reply,
    new_request_id,
    server_error,
)
from kling_batch.simulator._queries import list_answer, query_answer
from kling_batch.simulator._ratelimit import TokenBucket, retry_after
from kling_batch.simulator._routes import CONTROL_PREFIX, Route
from kling_batch.simulator._routes import route as route_of
from kling_batch.simulator._stats import Counters, Endpoint, FaultKind, SimulatorStats
from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._tasks import Outcome, SimTask, Slots
from kling_batch.simulator._uploads import StoredObject, UploadHost, policy_model
from kling_batch.simulator._validation import CreateSpec, parse_body, validate_create

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
        self._videos = VideoFiles()

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
        route = route_of(request)
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

    def _dispatch(self, route: Route, request: SimRequest, request_id: str, arrival: int) -> Reply:
        if route.endpoint in _API_ENDPOINTS or route.endpoint is Endpoint.OTHER:
            authorize(request, self._config)
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
                *self._retry_after(retry_after(wait)),
            )

    def _retry_after(self, seconds: str) -> tuple[tuple[str, str], ...]:
        """The Retry-After header of a 429, unless the config says the service sends none."""
        return (("Retry-After", seconds),) if self._config.retry_after else ()

    def _injects(self, kind: FaultKind, probability: float, *key: object) -> bool:
        if self._dice.hits(probability, kind, *key):
            self._counters.faults[kind] += 1
            return True
        return False

    def _server_error(self, endpoint: Endpoint, request_id: str, *key: object) -> Reply:
        roll = self._dice.roll("server_error_code", *key)
        return server_error(roll, oss=endpoint in _OSS_ENDPOINTS).reply(request_id)

    # -- create ------------------------------------------------------------------------------

    def _create(self, request: SimRequest, request_id: str) -> Reply:
        counted = self._config.count_invalid_creates
        if counted:
            self._throttle("create", self._config.submit_rate)
        if (request.header("x-dashscope-async") or "").lower() != "enable":
            raise ApiError(
                403, "AccessDenied", "current user api does not support synchronous calls"
            )
        body = parse_body(request.body)
        spec = validate_create(body, lenient=self._config.lenient)
        now = self._clock.now()
        refused: str | None = None
        if spec.oss_keys:
            if (request.header("x-dashscope-ossresourceresolve") or "").lower() != "enable":
                raise invalid(
                    "input.media has an oss:// URL: send the header "
                    "X-DashScope-OssResourceResolve: enable with it"
                )
            refused = self._uploads.inspect(spec, now)
        if not counted:
            self._throttle("create", self._config.submit_rate)
        self._slots.settle(now)
        queued = self._config.max_queued
        if queued is not None and self._slots.pending >= queued:
            raise ApiError(
                429,
                "Throttling.AllocationQuota",
                f"Too many tasks waiting: {queued} PENDING already.",
                *self._retry_after("5"),
            )
        body_sha = sha256_json(body)
        tried = self._create_attempts[body_sha]
        self._create_attempts[body_sha] += 1
        first = tried == 0
        if first and HOOK_ERROR in spec.hook_text:
            self._counters.faults[FaultKind.SERVER_ERROR] += 1
            return self._server_error(Endpoint.CREATE, request_id, body_sha, tried)
        task = self._new_task(spec, body_sha, tried, request_id, now, refused)
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
        self,
        spec: CreateSpec,
        body_sha: str,
        tried: int,
        request_id: str,
        now: float,
        refused: str | None,
    ) -> SimTask:
        faults = self._config.faults
        spread = self._config.render_jitter * (2.0 * self._dice.roll("render", body_sha, tried) - 1)
        render = self._config.render_seconds * (1.0 + spread)
        if HOOK_SLOW in spec.hook_text:
            render *= SLOW_HOOK_FACTOR
        if refused is not None:
            # The service inspects the files before it renders: such a task fails at once.
            outcome, render = Outcome.BAD_MEDIA, 0.0
        elif HOOK_MODERATION in spec.hook_text or self._dice.hits(
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
            failure_message=refused or "",
        )

    # -- query, list, cancel -----------------------------------------------------------------

    def _query(self, task_id: str, origin: str, request_id: str) -> Reply:
        self._throttle("query", self._config.query_rate)
        now = self._clock.now()
        self._slots.settle(now)
        return query_answer(
            task_id,
            self._tasks.get(task_id),
            now,
            request_id,
            self._config.storyboard_echo,
            lambda task, name: self._videos.url(origin, task, name),
        )

    def _list(self, request: SimRequest, request_id: str) -> Reply:
        self._throttle("list", self._config.list_rate)
        now = self._clock.now()
        self._slots.settle(now)
        tasks = self._tasks.values()
        return list_answer(tasks, request.query, now, self._config.list_zone, request_id)

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
        model = policy_model(request.query)
        self._throttle(f"policy:{model}", self._config.policy_rate)
        data = self._uploads.policy(model, request.origin, self._clock.now())
        return json_reply(200, {"request_id": request_id, "data": data})

    def _upload(self, request: SimRequest, request_id: str) -> Reply:
        reply = self._uploads.answer_form(request, request_id, self._clock.now())
        self._counters.uploads += 1
        return reply

    # -- result videos -----------------------------------------------------------------------

    def _download(self, route: Route, request: SimRequest, arrival: int) -> Reply:
        now = self._clock.now()
        self._slots.settle(now)
        key = (route.task_id, route.file_name, arrival)

        def cut(length: int) -> int | None:
            fault = self._config.faults.truncated_download
            if not self._injects(FaultKind.TRUNCATED_DOWNLOAD, fault, *key):
                return None
            return int(length * (0.1 + 0.8 * self._dice.roll("cut", *key)))

        task = self._tasks.get(route.task_id)
        reply = self._videos.serve(task, route.file_name, request, now, cut)
        if request.method != "HEAD" and reply.status in (200, 206):
            self._counters.downloads += 1
        return reply

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


def _body_key(body: bytes) -> str:
    """The same JSON value gives the same key, however it was spelled."""
    try:
        return sha256_json(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return hashlib.sha256(body).hexdigest()
