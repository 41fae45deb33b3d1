"""Pacing spreads each kind of request evenly, each kind on its own budget."""

from __future__ import annotations

import time

import anyio
import pytest

from kling_batch.api import Pacing, RequestKind


async def _timed_burst(pacing: Pacing, kind: RequestKind, count: int) -> list[float]:
    stamps: list[float] = []

    async def one() -> None:
        await pacing.wait(kind)
        stamps.append(time.monotonic())

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)
    return sorted(stamps)


@pytest.mark.anyio
async def test_a_burst_is_spread_one_slot_per_interval() -> None:
    pacing = Pacing(submits_per_second=50.0)
    started = time.monotonic()
    stamps = await _timed_burst(pacing, RequestKind.SUBMIT, 11)
    # The i-th request may go no earlier than i intervals after the first (a timer may fire a
    # hair early, hence the small tolerance; late is always allowed).
    for index, stamp in enumerate(stamps):
        assert stamp >= started + index * 0.02 - 0.004


@pytest.mark.anyio
async def test_kinds_do_not_wait_for_each_other() -> None:
    pacing = Pacing(submits_per_second=2.0, queries_per_second=200.0)
    await pacing.wait(RequestKind.SUBMIT)  # the next submit slot is now 0.5 s away
    started = time.monotonic()
    await _timed_burst(pacing, RequestKind.QUERY, 5)
    assert time.monotonic() - started < 0.2


def test_list_and_cancel_default_to_the_query_rate() -> None:
    pacing = Pacing(queries_per_second=7.0)
    assert pacing.rates[RequestKind.LIST] == 7.0
    assert pacing.rates[RequestKind.CANCEL] == 7.0
    assert "submit=5/s" in repr(pacing)


def test_rates_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacing(submits_per_second=0)
