"""Settling lost submissions against the simulator's real task list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kling_batch.api import AmbiguousSubmission, ApiKey, DashScopeClient
from kling_batch.runner.clock import SystemClock
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.reconcile import Attempt, Verdict, settle_submission
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

MODEL = "kling/kling-v3-video-generation"


def body(prompt: str) -> dict[str, Any]:
    return {"model": MODEL, "input": {"prompt": prompt}, "parameters": {"aspect_ratio": "16:9"}}


@pytest.fixture
async def client() -> AsyncIterator[DashScopeClient]:
    simulator = Simulator(SimulatorConfig(render_seconds=0.0, hang_seconds=0.2))
    async with DashScopeClient(
        "http://localhost/api/v1",
        ApiKey("sk-reconcile-test-key-000"),
        transport=simulator_transport(simulator),
        timeout=0.5,
    ) as client:
        yield client


def attempt(sent: dict[str, Any], *, entry_id: str = "e", at: datetime | None = None) -> Attempt:
    moment = at or datetime.now(UTC) - timedelta(seconds=5)
    return Attempt(entry_id, MODEL, EchoBasis.of_body(sent), moment.timestamp())


def documented(basis: EchoBasis) -> frozenset[EchoMode]:
    return basis.modes(())


async def settle(client: DashScopeClient, prompt: str, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "claimed": set,
        "rivals": list,
        "modes": documented,
        "clock": SystemClock(),
        "relist_delay": 0.0,
    }
    arguments.update(kwargs)
    tried = arguments.pop("attempt", None) or attempt(body(prompt))
    return await settle_submission(client, tried, **arguments)


@pytest.mark.anyio
async def test_a_lost_create_is_found_and_adopted(client: DashScopeClient) -> None:
    with pytest.raises(AmbiguousSubmission):
        await client.create_task(body("a fox [sim:lost-reset]"))
    await client.create_task(body("another prompt"))

    settlement = await settle(client, "a fox [sim:lost-reset]")

    assert settlement.verdict is Verdict.ADOPTED
    assert settlement.task.orig_prompt == "a fox [sim:lost-reset]"


@pytest.mark.anyio
async def test_a_create_that_never_arrived_is_not_created(client: DashScopeClient) -> None:
    with pytest.raises(AmbiguousSubmission):
        await client.create_task(body("a wolf [sim:error]"))  # 500, nothing created
    settlement = await settle(client, "a wolf [sim:error]")
    assert settlement.verdict is Verdict.NOT_CREATED


@pytest.mark.anyio
async def test_a_claimed_task_is_never_adopted_twice(client: DashScopeClient) -> None:
    task = await client.create_task(body("a hare"))
    settlement = await settle(client, "a hare", claimed=lambda: {task.task_id})
    assert settlement.verdict is Verdict.NOT_CREATED


@pytest.mark.anyio
async def test_rivals_with_the_same_prompt_leave_it_unsettled(client: DashScopeClient) -> None:
    await client.create_task(body("a crow"))
    rival = attempt(body("a crow"), entry_id="rival")
    settlement = await settle(client, "a crow", rivals=lambda: [rival])
    assert settlement.verdict is Verdict.UNSETTLED
    assert "rival" in settlement.reason
    # A rival whose create could not make this task (another prompt) changes nothing.
    other = attempt(body("a raven"), entry_id="other")
    settlement = await settle(client, "a crow", rivals=lambda: [other])
    assert settlement.verdict is Verdict.ADOPTED


@pytest.mark.anyio
async def test_two_unclaimed_matches_leave_it_unsettled(client: DashScopeClient) -> None:
    first = body("an owl")
    second = body("an owl")
    second["parameters"]["aspect_ratio"] = "9:16"
    await client.create_task(first)
    await client.create_task(second)
    settlement = await settle(client, "an owl")
    assert settlement.verdict is Verdict.UNSETTLED
    assert "2 unclaimed" in settlement.reason


@pytest.mark.anyio
async def test_an_attempt_older_than_the_list_horizon_is_unsettled(
    client: DashScopeClient,
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    settlement = await settle(client, "x", attempt=attempt(body("x"), at=long_ago))
    assert settlement.verdict is Verdict.UNSETTLED


def storyboard(*shots: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": {
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": n, "prompt": shot, "duration": 5} for n, shot in enumerate(shots, 1)
            ],
        },
        "parameters": {"aspect_ratio": "16:9", "duration": 5 * len(shots)},
    }


@pytest.mark.anyio
async def test_a_task_that_echoes_no_prompt_is_not_ours_only_once_our_kind_is_seen_to_echo(
    client: DashScopeClient,
) -> None:
    # A storyboard of someone else's, which (in this simulator's default mode) echoes nothing.
    await client.create_task(storyboard("a field", "a barn"))
    lost = attempt(storyboard("a city", "a cup"))
    # Nothing learned yet: an empty echo is what our storyboard could show too.
    unlearned = await settle(client, "", attempt=lost)
    assert unlearned.verdict is Verdict.ADOPTED
    # Our own storyboards were seen to echo their first shot: the silent task is not ours.
    learned = await settle(client, "", attempt=lost, modes=lambda _: {EchoMode.FIRST_SHOT})
    assert learned.verdict is Verdict.NOT_CREATED
