"""Client unit tests of one exchange each (httpx.MockTransport): what goes on the wire, how one
answer is read, how one error is mapped. Behaviour (retries, faults, pacing, uploads) is tested
against the simulator in test_client_simulator.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kling_batch.api import (
    AccountError,
    AmbiguousSubmission,
    ApiKey,
    CancelRefused,
    DashScopeClient,
    InsecureUrlError,
    Pacing,
    RequestRejected,
    RetryPolicy,
    TaskStatus,
    ThrottledError,
    TransientError,
)
from kling_batch.api.transport import carries_oss_url

SECRET = "sk-unit-9f3kSecret"
BASE = "https://dashscope.example.test/api/v1"
MODEL = "kling/kling-v3-video-generation"

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> DashScopeClient:
    return DashScopeClient(
        BASE,
        ApiKey(SECRET),
        transport=httpx.MockTransport(handler),
        pacing=Pacing(1000.0, 1000.0),
        retry=RetryPolicy(attempts=1),
    )


def _created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"output": {"task_status": "PENDING", "task_id": "t-1"}, "request_id": "r-1"}
    )


@pytest.mark.anyio
async def test_a_create_is_async_authorized_and_sent_as_canonical_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _created(request)

    body = {"model": MODEL, "input": {"prompt": "一只小猫"}, "parameters": {"duration": 5}}
    async with _client(handler) as client:
        task = await client.create_task(body)

    assert (task.task_id, task.status, task.request_id) == ("t-1", TaskStatus.PENDING, "r-1")
    (request,) = seen
    assert request.url == BASE + "/services/aigc/video-generation/video-synthesis"
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["X-DashScope-Async"] == "enable"
    assert "X-DashScope-OssResourceResolve" not in request.headers
    assert json.loads(request.content) == body


@pytest.mark.anyio
async def test_an_oss_url_anywhere_in_the_body_asks_for_resolution() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _created(request)

    body = {
        "model": MODEL,
        "input": {"prompt": "p", "media": [{"type": "first_frame", "url": "oss://dir/a.png"}]},
    }
    async with _client(handler) as client:
        await client.create_task(body)
    assert seen[0].headers["X-DashScope-OssResourceResolve"] == "enable"


def test_oss_detection_looks_everywhere_but_only_at_url_starts() -> None:
    assert carries_oss_url({"a": [{"b": ("x", "oss://k")}]})
    assert not carries_oss_url({"prompt": "see oss://k later", "n": 3})


@pytest.mark.anyio
async def test_a_query_answer_is_read_into_a_task() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/tasks/t-1"
        return httpx.Response(
            200,
            json={
                "request_id": "r",
                "output": {
                    "task_id": "t-1",
                    "task_status": "RUNNING",
                    "submit_time": "2026-03-27 21:30:32.575",
                },
            },
        )

    async with _client(handler) as client:
        task = await client.get_task("t-1")
    assert task.status is TaskStatus.RUNNING
    assert task.submit_time == datetime(2026, 3, 27, 13, 30, 32, 575000, tzinfo=UTC)


@pytest.mark.anyio
async def test_a_task_id_cannot_escape_its_path_segment() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/api/v1/tasks/..%2Fuploads"
        return httpx.Response(200, json={"output": {"task_id": "x", "task_status": "UNKNOWN"}})

    async with _client(handler) as client:
        assert (await client.get_task("../uploads")).status is TaskStatus.UNKNOWN


@pytest.mark.anyio
async def test_invalid_parameter_is_a_rejection_with_the_service_s_words() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={"code": "InvalidParameter", "message": "duration 20", "request_id": "r-9"},
        )

    async with _client(handler) as client:
        with pytest.raises(RequestRejected) as caught:
            await client.create_task({"model": MODEL})
    assert (caught.value.code, caught.value.request_id, caught.value.http_status) == (
        "InvalidParameter",
        "r-9",
        400,
    )


@pytest.mark.anyio
async def test_a_bad_key_is_an_account_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "InvalidApiKey", "message": "Invalid API-key"})

    async with _client(handler) as client:
        with pytest.raises(AccountError):
            await client.get_task("t")


@pytest.mark.anyio
async def test_unsupported_operation_on_cancel_is_cancel_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/v1/tasks/t-1/cancel")
        return httpx.Response(
            400, json={"code": "UnsupportedOperation", "message": "task is RUNNING"}
        )

    async with _client(handler) as client:
        with pytest.raises(CancelRefused):
            await client.cancel_task("t-1")


@pytest.mark.anyio
async def test_an_echoed_key_is_cut_out_of_the_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"code": "InvalidParameter", "message": f"bad header Bearer {SECRET}"}
        )

    async with _client(handler) as client:
        with pytest.raises(RequestRejected) as caught:
            await client.get_task("t")
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.anyio
async def test_list_digits_cover_the_span_in_any_zone_from_utc_to_beijing() -> None:
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        return httpx.Response(200, json={"total": 0, "total_page": 0, "data": []})

    async with _client(handler) as client:
        items = await client.list_tasks(
            datetime(2026, 3, 27, 0, 0, 0, 500000, tzinfo=UTC),
            datetime(2026, 3, 27, 1, 0, 0, 1, tzinfo=UTC),
            model=MODEL,
            status=TaskStatus.PENDING,
        )
    assert items == []
    (params,) = seen
    # Widened outward to whole seconds; the start as UTC digits (its earliest reading), the end
    # as Beijing digits (its latest), so that either reading of the zone covers the span.
    assert params["start_time"] == "20260327000000"
    assert params["end_time"] == "20260327090001"
    assert params["model_name"] == MODEL
    assert params["status"] == "PENDING"
    assert params["page_no"] == "1"


@pytest.mark.anyio
async def test_list_keeps_rows_by_gmt_create_whatever_the_filter_matched() -> None:
    start = datetime(2026, 3, 27, 0, 0, 0, tzinfo=UTC)
    end = datetime(2026, 3, 27, 1, 0, 0, tzinfo=UTC)

    def row(task_id: str, moment: datetime | None) -> dict[str, object]:
        item: dict[str, object] = {"task_id": task_id, "status": "SUCCEEDED", "model_name": MODEL}
        if moment is not None:
            item["gmt_create"] = int(moment.timestamp() * 1000)
        return item

    def handler(request: httpx.Request) -> httpx.Response:
        # A service that reads the digits in some zone answers with more than the span.
        rows = [
            row("before", start - timedelta(hours=3)),
            row("inside", start + timedelta(minutes=30)),
            row("at-end", end),
            row("after", end + timedelta(seconds=1)),
            row("unplaced", None),
        ]
        return httpx.Response(200, json={"total": 5, "total_page": 1, "data": rows})

    async with _client(handler) as client:
        items = await client.list_tasks(start, end, model=MODEL)
    assert sorted(item.task_id for item in items) == ["at-end", "inside", "unplaced"]


@pytest.mark.anyio
async def test_list_refuses_naive_or_reversed_spans() -> None:
    async with _client(_created) as client:
        with pytest.raises(ValueError, match="aware"):
            await client.list_tasks(datetime(2026, 1, 1), datetime(2026, 1, 2))
        with pytest.raises(ValueError, match="before start"):
            await client.list_tasks(
                datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
            )


def test_a_plain_http_base_url_is_refused_unless_loopback() -> None:
    with pytest.raises(InsecureUrlError):
        DashScopeClient("http://dashscope.aliyuncs.com/api/v1", ApiKey(SECRET))
    client = DashScopeClient("http://127.0.0.1:9/api/v1/", ApiKey(SECRET))
    assert client.base_url == "http://127.0.0.1:9/api/v1"
    assert SECRET not in repr(client)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"output": {"task_status": "PENDING"}}),  # no task id
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(302, headers={"Location": "https://elsewhere.test/"}),
    ],
    ids=["html", "no-task-id", "502", "redirect"],
)
async def test_an_unreadable_or_5xx_answer_to_a_create_is_ambiguous(
    answer: httpx.Response,
) -> None:
    async with _client(lambda request: answer) as client:
        with pytest.raises(AmbiguousSubmission) as caught:
            await client.create_task({"model": MODEL, "input": {"prompt": "p"}})
    assert caught.value.http_status == answer.status_code
    assert caught.value.model == MODEL


@pytest.mark.anyio
async def test_an_unreadable_answer_to_a_query_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="not json")

    async with _client(handler) as client:
        with pytest.raises(TransientError) as caught:
            await client.get_task("t")
    assert caught.value.request_sent is True
    assert "not JSON" in str(caught.value)


@pytest.mark.anyio
async def test_a_connect_error_on_a_create_is_transient_and_known_unsent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(handler) as client:
        with pytest.raises(TransientError) as caught:
            await client.create_task({"model": MODEL})
    assert caught.value.request_sent is False
    assert not isinstance(caught.value, AmbiguousSubmission)


@pytest.mark.anyio
async def test_retry_after_of_a_429_is_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            headers={"Retry-After": "7"},
            json={"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"},
        )

    async with _client(handler) as client:
        with pytest.raises(ThrottledError) as caught:
            await client.get_task("t")
    assert caught.value.retry_after == 7.0


@pytest.mark.anyio
async def test_the_upload_host_gets_the_form_in_order_and_no_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    policy = {
        "policy": "cG9saWN5",
        "signature": "c2ln",
        "upload_dir": "dashscope-instant/abc/2026-03-27/xyz",
        "upload_host": "https://oss.example.test",
        "oss_access_key_id": "LTAI-test",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
        "expire_in_seconds": 300,
        "max_file_size_mb": 100,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "oss.example.test":
            return httpx.Response(200)
        return httpx.Response(200, json={"request_id": "r", "data": policy})

    frame = tmp_path / "a.png"
    frame.write_bytes(b"\x89PNG not really")
    async with _client(handler) as client:
        upload = await client.upload_file(frame, MODEL)

    get_policy, post = seen
    assert get_policy.url.params["action"] == "getPolicy"
    assert get_policy.url.params["model"] == MODEL
    assert get_policy.headers["Authorization"] == f"Bearer {SECRET}"
    assert "Authorization" not in post.headers
    body = post.read()
    names = [
        name.decode()
        for name in re.findall(rb'Content-Disposition: form-data; name="([^"]+)"', body)
    ]
    assert names == [
        "OSSAccessKeyId",
        "policy",
        "Signature",
        "key",
        "x-oss-object-acl",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "file",
    ]
    assert upload.url.startswith("oss://dashscope-instant/abc/2026-03-27/xyz/")
    assert upload.url.encode()[len("oss://") :] in body


@pytest.mark.anyio
async def test_an_upload_host_over_plain_http_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = {
            "policy": "p",
            "signature": "s",
            "upload_dir": "d",
            "upload_host": "http://oss.example.test",
            "oss_access_key_id": "k",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }
        return httpx.Response(200, json={"data": data})

    frame = tmp_path / "a.png"
    frame.write_bytes(b"x")
    async with _client(handler) as client:
        with pytest.raises(InsecureUrlError):
            await client.upload_file(frame, MODEL)
