"""The async DashScope client: create, query, list and cancel Kling tasks, and upload files.

`client.http`, one `httpx.AsyncClient` (pooled connections, explicit timeouts), carries the
API's requests and the uploads; the key is added per request, only to requests for the
DashScope base URL, so the OSS upload host never sees it. Video downloads go through
`client.downloads`, a second client with a pool of its own (no key at all): httpcore looks
over a pool's every connection on each request, so two small pools cost less than one.

The submit rule lives in `create_task`: a create is sent again only when the previous try
provably did not reach the server (connection never made, 429, another 4xx answer). When it
may have arrived (read timeout, reset after sending, 5xx, unreadable answer) the client raises
`AmbiguousSubmission` at once, and the runner reconciles it with the task list.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Self, TypeVar

import anyio
import anyio.to_thread
import httpx

from kling_batch._version import __version__
from kling_batch.api import decode
from kling_batch.api import transport as edge
from kling_batch.api.decode import MalformedAnswer
from kling_batch.api.errors import (
    AmbiguousSubmission,
    ApiError,
    CancelRefused,
    RequestRejected,
    ThrottledError,
    TransientError,
    error_for_answer,
    error_for_upload_answer,
)
from kling_batch.api.listing import LIST_MAX_PAGES, ListSpan, list_params
from kling_batch.api.pacing import Pacing, RequestKind
from kling_batch.api.retry import RetryDecision, RetryNotice, RetryPolicy
from kling_batch.api.security import ApiKey, require_secure_url
from kling_batch.api.transport import TransportErrors, carries_oss_url, http_client, path_segment
from kling_batch.api.types import Task, TaskListItem, TaskStatus, Upload
from kling_batch.api.uploads import (
    UPLOAD_VALIDITY,
    MemoryUploadCache,
    UploadCache,
    content_type,
    is_reusable,
    object_key,
    oss_url,
    upload_form,
)
from kling_batch.hashing import canonical_json, sha256_file

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://dashscope.aliyuncs.com/api/v1"
# Connect and pool waits are short (nothing was sent yet, a retry is cheap); reads are long
# enough for a slow create, which is better waited for than made ambiguous.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=30.0)
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=32, max_keepalive_connections=16)

CREATE_PATH: Final = "/services/aigc/video-generation/video-synthesis"
_FIXED_PATHS: Final = (CREATE_PATH, "/tasks/", "/uploads")

logger = logging.getLogger(__name__)
_MIN_SCRUBBED_KEY = 12


class DashScopeClient:
    """Async client of the DashScope Kling task API; use as `async with client: ...`."""

    def __init__(
        self,
        base_url: str,
        key: ApiKey,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pacing: Pacing | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        upload_cache: UploadCache | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.base_url = require_secure_url(base_url).rstrip("/")
        self._key = key
        self._auth = edge.BearerAuth(key)
        self.pacing = pacing if pacing is not None else Pacing()
        self.retry = retry if retry is not None else RetryPolicy()
        self.upload_cache: UploadCache = (
            upload_cache if upload_cache is not None else MemoryUploadCache()
        )
        timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        agent = f"kling-batch/{__version__}"
        self.http = http_client(transport, timeout, DEFAULT_LIMITS, agent)
        self.downloads = http_client(transport, timeout, DEFAULT_LIMITS, agent)
        self._urls: dict[str, httpx.URL] = {}
        self._on_retry = on_retry
        # One lock per (sha256, model): entries sharing a file wait for one upload, not race.
        self._upload_locks: dict[tuple[str, str], anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"DashScopeClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        await self.http.__aenter__()
        await self.downloads.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self.downloads.__aexit__(*exc_info)
        finally:
            await self.http.__aexit__(*exc_info)

    # --- the calls --------------------------------------------------------------------------

    async def create_task(self, body: Mapping[str, Any]) -> Task:
        """Submit one render. Resent only if the previous try provably did not arrive;
        `AmbiguousSubmission` when it may have (see the module docstring)."""
        model = str(body.get("model", ""))
        content = canonical_json(body)
        fingerprint = hashlib.sha256(content).hexdigest()  # sha256_json(body), encoded once
        headers = {"Content-Type": "application/json", "X-DashScope-Async": "enable"}
        if carries_oss_url(body):
            headers["X-DashScope-OssResourceResolve"] = "enable"

        async def attempt() -> Task:
            await self.pacing.wait(RequestKind.SUBMIT)
            started = _now()
            try:
                return await self._exchange(
                    "POST", CREATE_PATH, decode.created_task, content=content, headers=headers
                )
            except TransientError as exc:
                if not exc.request_sent:
                    raise
                raise AmbiguousSubmission(
                    f"the create may have reached the server ({exc.message}); "
                    "reconcile with the task list before sending it again",
                    window_start=started,
                    window_end=_now(),
                    body_sha256=fingerprint,
                    model=model,
                    code=exc.code,
                    request_id=exc.request_id,
                    http_status=exc.http_status,
                ) from exc

        return await self._retrying("create_task", self.retry.for_submits(), attempt)

    async def get_task(self, task_id: str) -> Task:
        """The task as the service sees it now; retried while the failure is transient."""
        path = f"/tasks/{path_segment(task_id)}"
        return await self._read("get_task", RequestKind.QUERY, "GET", path, decode.queried_task)

    async def list_tasks(
        self,
        start: datetime,
        end: datetime,
        model: str | None = None,
        status: TaskStatus | None = None,
    ) -> list[TaskListItem]:
        """Every task created between `start` and `end` (aware datetimes), all pages.

        Correctness never rests on the zone the service reads the filter in: each request's
        digits cover its span whether they are read as UTC or as Beijing time (or between), and
        the rows are then kept by `gmt_create`, the one unambiguous time (epoch ms). A row
        without `gmt_create` is kept: it cannot be placed. Spans longer than one request covers
        are listed as consecutive requests. The service has times to the second, so the span is
        widened to whole seconds outward: nothing at its edges is missed.
        """
        seen: dict[str, TaskListItem] = {}
        span = ListSpan.of(start, end)
        for low, high in span.requests():
            for item in await self._list_request(list_params(low, high, model, status)):
                seen.setdefault(item.task_id, item)
        return span.keep(seen.values())

    async def cancel_task(self, task_id: str) -> None:
        """Cancel a PENDING task; `CancelRefused` once it runs or has ended.

        A cancel retried after a lost answer may meet its own success as `CancelRefused`;
        query the task to tell.
        """
        path = f"/tasks/{path_segment(task_id)}/cancel"
        try:
            await self._read("cancel_task", RequestKind.CANCEL, "POST", path, lambda _data: None)
        except RequestRejected as exc:
            if exc.code == "UnsupportedOperation":
                raise CancelRefused(
                    exc.message,
                    code=exc.code,
                    request_id=exc.request_id,
                    http_status=exc.http_status,
                ) from exc
            raise

    async def upload_file(self, path: Path | str, model: str) -> Upload:
        """`path` on DashScope's temporary OSS for `model`, uploaded at most once while valid.

        The cache is keyed by content hash and model; an entry with too little validity left
        is uploaded again.
        """
        path = Path(path)
        sha256 = await anyio.to_thread.run_sync(sha256_file, path)
        lock = self._upload_locks.setdefault((sha256, model), anyio.Lock())
        async with lock:
            cached = self.upload_cache.get(sha256, model)
            if cached is not None and is_reusable(cached, _now()):
                return cached

            async def attempt() -> Upload:
                return await self._upload_once(path, sha256, model)

            upload = await self._retrying("upload_file", self.retry.for_reads(), attempt)
            self.upload_cache.put(upload)
            return upload

    # --- pieces -----------------------------------------------------------------------------

    async def _list_request(self, params: dict[str, str]) -> list[TaskListItem]:
        """One request's rows, every page of it."""
        items: list[TaskListItem] = []
        for page_no in range(1, LIST_MAX_PAGES + 1):
            page = await self._read(
                "list_tasks",
                RequestKind.LIST,
                "GET",
                "/tasks/",
                decode.task_list_page,
                params={**params, "page_no": str(page_no)},
            )
            items.extend(page.items)
            if not page.items or page_no >= page.total_pages:
                return items
        raise TransientError(f"the task list did not end after {LIST_MAX_PAGES} pages")

    async def _upload_once(self, path: Path, sha256: str, model: str) -> Upload:
        started = _now()
        policy = await self._paced(
            RequestKind.UPLOAD_POLICY,
            "GET",
            "/uploads",
            decode.upload_policy,
            params={"action": "getPolicy", "model": model},
        )
        size = path.stat().st_size
        if policy.max_file_size_mb is not None and size > policy.max_file_size_mb * 1024 * 1024:
            raise RequestRejected(
                f"{path.name} is {size / 1024 / 1024:.1f} MB; DashScope's temporary storage "
                f"takes at most {policy.max_file_size_mb} MB per file",
                code="FileTooLarge",
            )
        host = require_secure_url(policy.upload_host)
        key = object_key(policy, sha256, path)
        with path.open("rb") as handle:
            await self._post_form(
                host,
                upload_form(policy, key),
                ("file", (path.name, handle, content_type(path))),
            )
        return Upload(
            url=oss_url(key),
            model=model,
            sha256=sha256,
            size=size,
            expires_at=started + UPLOAD_VALIDITY,
        )

    async def _retrying(
        self, operation: str, decide: RetryDecision, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """`attempt` under the retry policy, telling `on_retry` of each try that will be
        retried."""
        tries = 0

        async def counted() -> T:
            nonlocal tries
            tries += 1
            return await attempt()

        def decide_and_tell(exc: Exception) -> bool | float:
            verdict = decide(exc)
            # stamina retries on True or on a float (a wait of its own); False ends the call.
            retried = verdict is not False and tries < self.retry.attempts
            if retried and self._on_retry is not None and isinstance(exc, ApiError):
                wait = exc.retry_after if isinstance(exc, ThrottledError) else None
                self._on_retry(RetryNotice(operation, tries, exc, wait))
            return verdict

        return await self.retry.call(decide_and_tell, counted)

    async def _read(
        self,
        operation: str,
        kind: RequestKind,
        method: str,
        path: str,
        decoder: Callable[[dict[str, Any]], T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """A request that is safe to repeat: paced, and retried under the read policy."""

        async def attempt() -> T:
            return await self._paced(kind, method, path, decoder, params=params)

        return await self._retrying(operation, self.retry.for_reads(), attempt)

    async def _paced(
        self,
        kind: RequestKind,
        method: str,
        path: str,
        decoder: Callable[[dict[str, Any]], T],
        *,
        params: Mapping[str, str] | None = None,
    ) -> T:
        await self.pacing.wait(kind)
        return await self._exchange(method, path, decoder, params=params)

    async def _exchange(
        self,
        method: str,
        path: str,
        decoder: Callable[[dict[str, Any]], T],
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """One request to DashScope, its answer decoded or mapped onto the error tree."""
        request = self.http.build_request(
            method, self._url(path), content=content, headers=headers, params=params
        )
        with TransportErrors():
            response = await self.http.send(request, auth=self._auth)
        # A server that echoes the key (in an error message, say) must not put it in our
        # errors, logs or task.json: it is cut out before anything is decoded.
        text = self._scrub(response.text)
        status = response.status_code
        if not 200 <= status < 300:
            code, message, request_id = decode.error_fields(text)
            logger.debug(
                "%s %s -> HTTP %s %s (request_id %s)", method, path, status, code, request_id
            )
            raise error_for_answer(
                status,
                code,
                message,
                request_id,
                retry_after=decode.retry_after_seconds(response.headers.get("Retry-After")),
            )
        try:
            result = decoder(decode.json_object(text))
        except MalformedAnswer as exc:
            logger.debug("%s %s -> HTTP %s, unreadable answer", method, path, status)
            raise TransientError(
                f"unreadable answer: {exc}", http_status=status, request_sent=True
            ) from None
        logger.debug("%s %s -> HTTP %s", method, path, status)
        return result

    async def _post_form(
        self, url: str, form: dict[str, str], file: tuple[str, tuple[str, Any, str]]
    ) -> None:
        """The OSS upload POST: the signed form, then the file; no DashScope key on it."""
        with TransportErrors():
            response = await self.http.post(url, data=form, files=[file])
        if 200 <= response.status_code < 300:
            return
        code, message, request_id = decode.oss_error_fields(self._scrub(response.text))
        raise error_for_upload_answer(response.status_code, code, message, request_id)

    def _url(self, path: str) -> httpx.URL:
        """`path` on the base URL; httpx would parse a string on every request, so the fixed
        paths' URLs are parsed once."""
        url = self._urls.get(path) or httpx.URL(self.base_url + path)
        if path in _FIXED_PATHS:
            self._urls[path] = url
        return url

    def _scrub(self, text: str) -> str:
        secret = self._key.reveal()
        # A very short "key" (a test's "x") occurs by chance in ordinary answers ("task_id"
        # holds a "k"); cutting it out would corrupt them. Real keys are "sk-" and 32 more.
        if len(secret) < _MIN_SCRUBBED_KEY:
            return text
        return text.replace(secret, "***") if secret in text else text


def _now() -> datetime:
    return datetime.now(UTC)
