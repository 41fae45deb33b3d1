"""The submit rule: a create that may have reached the server is never resent; it surfaces as
`AmbiguousSubmission` with what the runner needs to reconcile it. Only a create that provably did
not arrive (no connection, 429, another 4xx) is sent again. Each fault comes from the simulator
on loopback, and its counters prove how many tasks each body made."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from kling_batch.api import (
    AmbiguousSubmission,
    ApiKey,
    DashScopeClient,
    RetryPolicy,
    ThrottledError,
    TransientError,
)
from kling_batch.hashing import sha256_json
from kling_batch.simulator import Faults, LostAnswer
from tests.conftest import StartSimulator

MakeClient = Callable[..., DashScopeClient]
TextBody = Callable[..., dict[str, Any]]

# Short read timeout: a lost answer is given up on quickly; connect stays generous.
QUICK = httpx.Timeout(5.0, read=0.4)


async def _ambiguous(client: DashScopeClient, body: dict[str, Any]) -> AmbiguousSubmission:
    before = datetime.now(UTC)
    with pytest.raises(AmbiguousSubmission) as caught:
        await client.create_task(body)
    after = datetime.now(UTC)
    error = caught.value
    assert error.body_sha256 == sha256_json(body)
    assert error.model == body["model"]
    assert before <= error.window_start <= error.window_end <= after
    return error


@pytest.mark.anyio
@pytest.mark.parametrize("lost", [LostAnswer.HANG, LostAnswer.RESET, LostAnswer.SERVER_ERROR])
async def test_a_create_whose_answer_is_lost_is_ambiguous_and_made_once(
    start_simulator: StartSimulator,
    make_client: MakeClient,
    text_body: TextBody,
    lost: LostAnswer,
) -> None:
    simulator, base_url = start_simulator(
        faults=Faults(lost_create=1.0, lost_answer=lost), hang_seconds=1.0
    )
    body = text_body("a lost answer")
    async with make_client(base_url, timeout=QUICK) as client:
        error = await _ambiguous(client, body)
        if lost is LostAnswer.SERVER_ERROR:
            assert error.http_status in (500, 503)
        # The window finds the task the create made: what the runner's reconcile will do.
        found = await client.list_tasks(
            error.window_start - timedelta(seconds=1),
            error.window_end + timedelta(seconds=1),
            model=error.model,
        )
    stats = simulator.stats()
    assert stats.requests["create"] == 1  # not resent
    assert stats.creates_by_body == {sha256_json(body): 1}
    assert len(found) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "faults", [Faults(server_error=1.0), Faults(reset=1.0)], ids=["server_error", "reset"]
)
async def test_a_5xx_or_reset_before_anything_was_done_is_still_ambiguous(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody, faults: Faults
) -> None:
    # The client cannot tell "failed before" from "failed after": it must not resend either.
    simulator, base_url = start_simulator(faults=faults)
    async with make_client(base_url, timeout=QUICK) as client:
        await _ambiguous(client, text_body("nothing was done"))
    stats = simulator.stats()
    assert stats.requests["create"] == 1
    assert stats.creates == 0


@pytest.mark.anyio
async def test_a_slow_answer_past_the_read_timeout_is_ambiguous(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator(faults=Faults(slow=1.0, slow_seconds=1.0))
    body = text_body("slow")
    async with make_client(base_url, timeout=QUICK) as client:
        await _ambiguous(client, body)
    stats = simulator.stats()
    assert stats.requests["create"] == 1
    assert stats.creates_by_body == {sha256_json(body): 1}


@pytest.mark.anyio
async def test_the_hooked_lost_create_makes_one_task_and_the_runner_may_then_list_it(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    # [sim:lost-reset]: only the first create of the body loses its answer.
    simulator, base_url = start_simulator()
    body = text_body("a cat [sim:lost-reset]")
    async with make_client(base_url, timeout=QUICK) as client:
        await _ambiguous(client, body)
    assert simulator.stats().creates_by_body == {sha256_json(body): 1}


class _RefuseFirstConnects(httpx.AsyncBaseTransport):
    """A real loopback transport whose first `count` requests fail to connect, as when the
    server is briefly unreachable: those requests provably never left the process."""

    def __init__(self, count: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._left > 0:
            self._left -= 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
async def test_a_create_that_could_not_connect_is_resent_and_made_once(
    start_simulator: StartSimulator, text_body: TextBody, no_retry_waits: None
) -> None:
    simulator, base_url = start_simulator()
    body = text_body("after two refused connections")
    client = DashScopeClient(
        base_url, ApiKey("sk-test"), transport=_RefuseFirstConnects(2), retry=RetryPolicy(4)
    )
    async with client:
        task = await client.create_task(body)
    stats = simulator.stats()
    assert stats.requests["create"] == 1  # the two refused tries never arrived
    assert stats.creates_by_body == {sha256_json(body): 1}
    assert task.task_id


@pytest.mark.anyio
async def test_no_server_at_all_is_transient_and_known_unsent(
    make_client: MakeClient, text_body: TextBody, no_retry_waits: None
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with make_client(f"http://127.0.0.1:{port}/api/v1") as client:
        with pytest.raises(TransientError) as caught:
            await client.create_task(text_body("nobody home"))
    assert caught.value.request_sent is False
    assert not isinstance(caught.value, AmbiguousSubmission)


@pytest.mark.anyio
async def test_a_throttled_create_waits_retry_after_and_is_made_once(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    # One submission a second, and a client paced far faster: the second create meets a 429
    # with Retry-After: 1. Backoff is set to zero, so only Retry-After can explain the wait.
    simulator, base_url = start_simulator(submit_rate=1.0)
    policy = RetryPolicy(attempts=5, base_delay=0.0, max_delay=0.0, jitter=0.0)
    first, second = text_body("first"), text_body("second")
    async with make_client(base_url, retry=policy) as client:
        await client.create_task(first)
        started = anyio.current_time()
        await client.create_task(second)
        waited = anyio.current_time() - started
    stats = simulator.stats()
    assert stats.throttled == 1  # one 429, then the wait sufficed
    assert waited >= 0.95
    assert stats.creates_by_body == {sha256_json(first): 1, sha256_json(second): 1}


@pytest.mark.anyio
async def test_an_exhausted_queue_quota_is_not_waited_on_forever(
    start_simulator: StartSimulator,
    make_client: MakeClient,
    text_body: TextBody,
    no_retry_waits: None,
) -> None:
    simulator, base_url = start_simulator(slots=1, max_queued=1, render_seconds=60.0)
    async with make_client(base_url, retry=RetryPolicy(attempts=3)) as client:
        await client.create_task(text_body("running"))
        await client.create_task(text_body("queued"))
        with pytest.raises(ThrottledError) as caught:
            await client.create_task(text_body("one too many"))
    assert caught.value.code == "Throttling.AllocationQuota"
    assert caught.value.retry_after == 5.0
    stats = simulator.stats()
    assert stats.throttled == 3  # bounded by the policy's attempts
    assert stats.creates == 2
