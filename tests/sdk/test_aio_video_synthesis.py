"""The SDK's AioVideoSynthesis (aiohttp) against the simulator. Its fetch, wait and cancel ask
for `/tasks/{id}/` and `/tasks/{id}/cancel/`, with a trailing slash the blocking client does not
send: the simulator takes both spellings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .conftest import STANDARD, dashscope

video_synthesis = pytest.importorskip("dashscope.aigc.video_synthesis")
aio_session = pytest.importorskip("dashscope.api_entities.aio_session")
AioVideoSynthesis: Any = video_synthesis.AioVideoSynthesis

pytestmark = pytest.mark.anyio


@pytest.fixture
async def aio() -> AsyncIterator[Any]:
    yield AioVideoSynthesis
    # The SDK keeps one aiohttp session per event loop and leaves it open; close it here.
    session = await aio_session.get_shared_aio_session()
    await session.close()


async def test_create_fetch_and_wait(serve, aio) -> None:
    serve(render_seconds=0.3)
    created = await aio.async_call(model=STANDARD, prompt="a paper boat")
    assert created.status_code == 200 and created.output.task_status == "PENDING"
    fetched = await aio.fetch(created)
    assert fetched.status_code == 200, fetched
    assert fetched.output.task_status in ("PENDING", "RUNNING", "SUCCEEDED")
    done = await aio.wait(created)
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED"
    assert done.output.video_url.startswith("http://127.0.0.1:")


async def test_cancel_and_list(serve, aio) -> None:
    server = serve(render_seconds=60.0, slots=1)
    running = (await aio.async_call(model=STANDARD, prompt="first")).output.task_id
    waiting = (await aio.async_call(model=STANDARD, prompt="second")).output.task_id
    canceled = await aio.cancel(waiting)
    refused = await aio.cancel(running)
    listed = await aio.list(status="CANCELED")
    assert canceled.status_code == 200, canceled
    assert (refused.status_code, refused.code) == (400, "UnsupportedOperation")
    assert [row["task_id"] for row in listed.output["data"]] == [waiting]
    assert server.simulator.task_status(waiting) == "CANCELED"


async def test_a_misplaced_keyword_is_refused(serve, aio) -> None:
    serve()
    answer = await aio.async_call(model=STANDARD, prompt="a harbour", shot_type="customize")
    assert (answer.status_code, answer.code) == (400, "InvalidParameter")
    assert "belongs in input" in answer.message


async def test_a_wrong_key_is_401(serve, aio) -> None:
    serve(api_key="sk-other")
    answer = await aio.async_call(model=STANDARD, prompt="x")
    assert (answer.status_code, answer.code) == (401, "InvalidApiKey")
    assert dashscope.api_key != "sk-other"
