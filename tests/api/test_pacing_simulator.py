"""At the default pacing a healthy run meets no 429: the simulator enforces DashScope's documented
rates (5 submissions, 20 queries a second) with token buckets, on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from kling_batch.api import DashScopeClient, Pacing, RetryPolicy
from tests.conftest import StartSimulator

MakeClient = Callable[..., DashScopeClient]
TextBody = Callable[..., dict[str, Any]]


@pytest.mark.anyio
async def test_a_burst_of_50_creates_and_100_queries_meets_no_429(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator()  # the service's rates, the default
    # attempts=1: a single 429 would fail the test instead of being quietly retried.
    async with make_client(base_url, pacing=Pacing(), retry=RetryPolicy(attempts=1)) as client:
        started = anyio.current_time()
        async with anyio.create_task_group() as group:
            for index in range(50):
                group.start_soon(client.create_task, text_body(f"shot {index}"))
            for index in range(100):
                group.start_soon(client.get_task, f"task-{index}")
        elapsed = anyio.current_time() - started
    stats = simulator.stats()
    assert stats.throttled == 0
    assert stats.creates == 50
    assert stats.requests["query"] == 100
    # Evenly spread: 50 submissions at 5/s take about ten seconds, the queries run alongside.
    assert 9.5 <= elapsed < 12.0
