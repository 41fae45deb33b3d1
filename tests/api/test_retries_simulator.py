"""Reads (query, list, cancel, upload policy) are safe to repeat: transient faults and 429s are
retried within the policy's bounds, against the simulator's seeded faults on loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from kling_batch.api import (
    ApiKey,
    DashScopeClient,
    Pacing,
    RetryNotice,
    RetryPolicy,
    TaskStatus,
    ThrottledError,
    TransientError,
)
from kling_batch.simulator import Faults
from tests.conftest import StartSimulator

MakeClient = Callable[..., DashScopeClient]
TextBody = Callable[..., dict[str, Any]]


@pytest.mark.anyio
async def test_queries_ride_through_resets_5xx_and_slow_answers(
    start_simulator: StartSimulator,
    make_client: MakeClient,
    text_body: TextBody,
    no_retry_waits: None,
) -> None:
    simulator, base_url = start_simulator(seed=7)
    async with make_client(
        base_url, retry=RetryPolicy(attempts=12), timeout=httpx.Timeout(5.0, read=0.3)
    ) as client:
        tasks = [await client.create_task(text_body(f"shot {index}")) for index in range(4)]
        simulator.set_faults(Faults(server_error=0.3, reset=0.2, slow=0.1, slow_seconds=0.5))
        for _ in range(5):
            for task in tasks:
                answer = await client.get_task(task.task_id)
                assert answer.task_id == task.task_id
                assert answer.status is not TaskStatus.UNKNOWN
    faults = simulator.stats().faults
    # Every kind of fault was met, and every query still got its answer.
    assert faults.get("server_error", 0) > 0
    assert faults.get("reset", 0) > 0
    assert faults.get("slow", 0) > 0


@pytest.mark.anyio
async def test_a_fault_that_does_not_clear_ends_as_transient_after_the_bounded_tries(
    start_simulator: StartSimulator, make_client: MakeClient, no_retry_waits: None
) -> None:
    simulator, base_url = start_simulator(faults=Faults(server_error=1.0))
    async with make_client(base_url, retry=RetryPolicy(attempts=4)) as client:
        with pytest.raises(TransientError) as caught:
            await client.get_task("some-task")
    assert caught.value.http_status in (500, 503)
    assert caught.value.code in ("InternalError", "ServiceUnavailable")
    assert simulator.stats().requests["query"] == 4


@pytest.mark.anyio
async def test_list_and_cancel_are_retried_too(
    start_simulator: StartSimulator,
    make_client: MakeClient,
    text_body: TextBody,
    no_retry_waits: None,
) -> None:
    simulator, base_url = start_simulator(slots=1, render_seconds=60.0, seed=3)
    async with make_client(base_url, retry=RetryPolicy(attempts=20)) as client:
        start = datetime.fromtimestamp(simulator.now(), UTC)
        await client.create_task(text_body("running"))
        pending = await client.create_task(text_body("pending"))
        simulator.set_faults(Faults(server_error=0.5, reset=0.3))
        items = await client.list_tasks(start, start + timedelta(minutes=1))
        await client.cancel_task(pending.task_id)
    assert len(items) == 2
    stats = simulator.stats()
    assert stats.cancels == 1
    assert stats.requests["list"] + stats.requests["cancel"] > 2  # some tries failed


@pytest.mark.anyio
async def test_query_throttling_is_waited_out_with_retry_after(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    # Two queries a second, a client paced at 1000/s with zero backoff: bursts meet 429s, and
    # only honouring Retry-After gets all five through within a few 429s.
    simulator, base_url = start_simulator(query_rate=2.0)
    policy = RetryPolicy(attempts=6, base_delay=0.0, max_delay=0.0, jitter=0.0)
    async with make_client(base_url, retry=policy) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for index in range(5):
                    group.start_soon(client.get_task, f"task-{index}")
    stats = simulator.stats()
    assert stats.throttled > 0
    assert stats.requests["query"] - stats.throttled == 5


@pytest.mark.anyio
async def test_throttling_that_never_clears_ends_as_throttled(
    start_simulator: StartSimulator, make_client: MakeClient, no_retry_waits: None
) -> None:
    simulator, base_url = start_simulator(query_rate=0.01)  # one token, then 100 s per token
    async with make_client(base_url, retry=RetryPolicy(attempts=3)) as client:
        await client.get_task("first")
        with pytest.raises(ThrottledError) as caught:
            await client.get_task("second")
    assert caught.value.code == "Throttling.RateQuota"
    assert caught.value.retry_after is not None and caught.value.retry_after > 1
    assert simulator.stats().throttled == 3


@pytest.mark.anyio
async def test_a_long_retry_after_is_capped_by_the_policy(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator, base_url = start_simulator(query_rate=0.01)
    policy = RetryPolicy(attempts=2, max_retry_after=0.2)
    async with make_client(base_url, retry=policy, pacing=Pacing(queries_per_second=1000)) as c:
        await c.get_task("first")
        started = anyio.current_time()
        with pytest.raises(ThrottledError):
            await c.get_task("second")
        waited = anyio.current_time() - started
    # Retry-After said ~100 s; the policy waited its 0.2 s cap once, then gave up.
    assert 0.19 <= waited < 2.0
    assert simulator.stats().throttled == 2


@pytest.mark.anyio
async def test_each_retry_is_told_to_on_retry_for_the_event_log(
    start_simulator: StartSimulator, no_retry_waits: None
) -> None:
    simulator, base_url = start_simulator(faults=Faults(server_error=1.0))
    notices: list[RetryNotice] = []
    client = DashScopeClient(
        base_url,
        ApiKey("sk-test"),
        pacing=Pacing(queries_per_second=1000),
        retry=RetryPolicy(attempts=3),
        on_retry=notices.append,
    )
    async with client:
        with pytest.raises(TransientError) as caught:
            await client.get_task("some-task")
    # Three tries: the first two were retried and told; the third failure is raised instead.
    assert [(n.operation, n.attempt) for n in notices] == [("get_task", 1), ("get_task", 2)]
    assert all(isinstance(n.error, TransientError) for n in notices)
    assert caught.value not in [n.error for n in notices]
    assert simulator.stats().requests["query"] == 3
