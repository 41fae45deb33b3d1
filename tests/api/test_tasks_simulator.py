"""Create, query, list and cancel against the simulator on loopback: the calls and their answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from kling_batch.api import (
    AccountError,
    CancelRefused,
    DashScopeClient,
    RequestRejected,
    Task,
    TaskStatus,
)
from tests.conftest import StartSimulator

MakeClient = Callable[..., DashScopeClient]
TextBody = Callable[..., dict[str, Any]]

OMNI = "kling/kling-v3-omni-video-generation"


async def _until_terminal(client: DashScopeClient, task_id: str) -> Task:
    with anyio.fail_after(5):
        while True:
            task = await client.get_task(task_id)
            if task.status.is_terminal:
                return task
            await anyio.sleep(0.05)


@pytest.mark.anyio
async def test_a_task_is_created_rendered_and_its_video_downloaded(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator()
    before = datetime.now(UTC)
    async with make_client(base_url) as client:
        created = await client.create_task(text_body("一只小猫在月光下奔跑", watermark=True))
        assert created.status is TaskStatus.PENDING
        assert created.request_id

        done = await _until_terminal(client, created.task_id)
        assert done.status is TaskStatus.SUCCEEDED
        assert done.orig_prompt == "一只小猫在月光下奔跑"
        assert done.usage is not None and done.usage.duration == 5
        assert done.usage.size == "1280*720"
        # Beijing times came back as aware UTC, around now.
        assert done.submit_time is not None and done.end_time is not None
        assert done.submit_time.tzinfo is UTC
        assert before - timedelta(seconds=2) <= done.submit_time <= done.end_time
        assert done.end_time <= datetime.now(UTC) + timedelta(seconds=2)
        assert done.raw["output"]["task_status"] == "SUCCEEDED"

        # The shared httpx client serves the downloads.
        assert done.video_url is not None and done.watermark_video_url is not None
        video = await client.http.get(done.video_url)
        assert video.status_code == 200
        assert video.content[4:8] == b"ftyp"
    assert simulator.stats().creates == 1


@pytest.mark.anyio
async def test_task_level_failures_carry_code_and_message(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    _, base_url = start_simulator()
    async with make_client(base_url) as client:
        created = await client.create_task(text_body("a storm [sim:moderation]"))
        failed = await _until_terminal(client, created.task_id)
    assert failed.status is TaskStatus.FAILED
    assert failed.code == "DataInspectionFailed"
    assert failed.message


@pytest.mark.anyio
async def test_an_unknown_task_reads_unknown(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    _, base_url = start_simulator()
    async with make_client(base_url) as client:
        task = await client.get_task("0385dc79-0000-0000-0000-000000000000")
    assert task.status is TaskStatus.UNKNOWN


@pytest.mark.anyio
async def test_an_invalid_body_is_rejected_once_and_not_retried(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator()
    async with make_client(base_url) as client:
        with pytest.raises(RequestRejected) as caught:
            await client.create_task(text_body("too long", duration=99))
    assert caught.value.code == "InvalidParameter"
    assert caught.value.http_status == 400
    assert caught.value.request_id
    stats = simulator.stats()
    assert stats.requests["create"] == 1
    assert stats.creates == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"arrearage": True}, "Arrearage"),
        ({"api_key": "sk-some-other-key"}, "InvalidApiKey"),
    ],
)
async def test_account_errors_stop_at_once(
    start_simulator: StartSimulator,
    make_client: MakeClient,
    text_body: TextBody,
    setup: dict[str, Any],
    code: str,
) -> None:
    simulator, base_url = start_simulator(**setup)
    async with make_client(base_url) as client:
        with pytest.raises(AccountError) as on_create:
            await client.create_task(text_body("a cat"))
        with pytest.raises(AccountError):
            await client.get_task("any")
    assert on_create.value.code == code
    # Neither call was retried.
    assert simulator.stats().requests == {"create": 1, "query": 1}


@pytest.mark.anyio
async def test_an_unknown_model_is_an_account_error(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    _, base_url = start_simulator()
    async with make_client(base_url) as client:
        with pytest.raises(AccountError) as caught:
            await client.create_task(text_body("a cat", model="kling/kling-v9"))
    assert caught.value.code == "ModelNotFound"


@pytest.mark.anyio
async def test_only_pending_tasks_can_be_canceled(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    # One slot and a long render: the first task runs, the second waits PENDING.
    simulator, base_url = start_simulator(slots=1, render_seconds=60.0)
    async with make_client(base_url) as client:
        running = await client.create_task(text_body("first"))
        pending = await client.create_task(text_body("second"))

        await client.cancel_task(pending.task_id)
        assert (await client.get_task(pending.task_id)).status is TaskStatus.CANCELED

        with pytest.raises(CancelRefused) as caught:
            await client.cancel_task(running.task_id)
        assert caught.value.code == "UnsupportedOperation"
        with pytest.raises(CancelRefused):
            await client.cancel_task(pending.task_id)  # already canceled
    assert simulator.stats().cancels == 1


@pytest.mark.anyio
async def test_list_finds_tasks_by_window_model_and_status(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator(slots=1, render_seconds=60.0)
    async with make_client(base_url) as client:
        start = datetime.fromtimestamp(simulator.now(), UTC)
        first = await client.create_task(text_body("one"))
        second = await client.create_task(text_body("two"))
        omni = await client.create_task(text_body("three", model=OMNI))
        end = datetime.fromtimestamp(simulator.now(), UTC)

        everything = await client.list_tasks(start, end)
        standard = await client.list_tasks(start, end, model="kling/kling-v3-video-generation")
        pending = await client.list_tasks(start, end, status=TaskStatus.PENDING)
        before = await client.list_tasks(start - timedelta(hours=2), start - timedelta(hours=1))

    assert {item.task_id for item in everything} == {first.task_id, second.task_id, omni.task_id}
    assert {item.task_id for item in standard} == {first.task_id, second.task_id}
    assert {item.task_id for item in pending} == {second.task_id, omni.task_id}
    assert before == []
    row = next(item for item in everything if item.task_id == first.task_id)
    assert row.status is TaskStatus.RUNNING
    assert row.model_name == "kling/kling-v3-video-generation"
    assert row.request_id == first.request_id
    assert row.created_at is not None and start - timedelta(seconds=1) <= row.created_at <= end


@pytest.mark.anyio
async def test_list_reads_every_page(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator(submit_rate=None, slots=10)
    async with make_client(base_url) as client:
        start = datetime.fromtimestamp(simulator.now(), UTC)
        async with anyio.create_task_group() as group:
            for index in range(105):
                group.start_soon(client.create_task, text_body(f"shot {index}"))
        end = datetime.fromtimestamp(simulator.now(), UTC)
        items = await client.list_tasks(start, end)
    assert len(items) == 105
    assert len({item.task_id for item in items}) == 105
    assert simulator.stats().requests["list"] == 2  # pages of 100


@pytest.mark.anyio
async def test_a_span_over_24_hours_is_listed_in_24_hour_windows(
    start_simulator: StartSimulator, make_client: MakeClient, text_body: TextBody
) -> None:
    simulator, base_url = start_simulator()
    async with make_client(base_url) as client:
        start = datetime.fromtimestamp(simulator.now(), UTC)
        early = await client.create_task(text_body("early"))
        simulator.advance(20 * 3600)
        late = await client.create_task(text_body("twenty hours later"))
        simulator.advance(10 * 3600)
        end = datetime.fromtimestamp(simulator.now(), UTC)
        items = await client.list_tasks(start, end)
    # The simulator refuses windows over 24 h, so the 30 h span took two.
    assert {item.task_id for item in items} == {early.task_id, late.task_id}
    assert simulator.stats().requests["list"] == 2
