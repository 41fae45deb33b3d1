"""The in-process transport: the same service with no socket, failures as httpx raises them."""

from __future__ import annotations

import time

import httpx
import pytest

from kling_batch.simulator import Faults, Simulator, SimulatorConfig
from tests.conftest import fast_simulator


@pytest.mark.anyio
async def test_a_whole_render_in_process(in_process) -> None:
    sim = fast_simulator()
    async with in_process(sim) as api:
        _, url = await api.upload()
        payload = api.body("x", media=[{"type": "first_frame", "url": url}], watermark=True)
        task_id = await api.create_id(payload, **{"X-DashScope-OssResourceResolve": "enable"})
        output = (await api.wait_for(task_id, "SUCCEEDED"))["output"]
        video = await api.client.get(output["watermark_video_url"])
        part = await api.client.get(output["video_url"], headers={"Range": "bytes=4-7"})
        listed = (await api.client.get("/tasks/")).json()
    assert output["video_url"].startswith("http://localhost/__files/")
    assert video.status_code == 200 and int(video.headers["content-length"]) == len(video.content)
    assert (part.status_code, part.content) == (206, b"ftyp")
    assert listed["data"][0]["task_id"] == task_id
    assert sim.stats().uploads == 1 and sim.stats().downloads == 2


@pytest.mark.anyio
async def test_errors_are_answers_in_process(in_process) -> None:
    async with in_process(fast_simulator()) as api:
        answer = await api.create(api.body(model="nope"))
        head = await api.client.post("/services/aigc/video-generation/video-synthesis", json={})
    assert answer.status_code == 404 and answer.json()["code"] == "ModelNotFound"
    assert head.status_code == 403  # no X-DashScope-Async


@pytest.mark.anyio
async def test_a_reset_in_process_is_a_remote_protocol_error(in_process) -> None:
    sim = Simulator(SimulatorConfig(faults=Faults(reset=1.0)))
    async with in_process(sim) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            await api.client.get("/tasks/x")


@pytest.mark.anyio
async def test_a_lost_create_in_process_times_out_on_the_read_timeout(in_process) -> None:
    sim = Simulator(SimulatorConfig(faults=Faults(lost_create=1.0)))
    async with in_process(sim, timeout=0.2) as api:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await api.create(api.body())
    assert 0.15 < time.monotonic() - started < 2
    assert sim.stats().creates == 1


@pytest.mark.anyio
async def test_a_slow_answer_in_process_honours_the_read_timeout(in_process) -> None:
    sim = Simulator(SimulatorConfig(faults=Faults(slow=1.0, slow_seconds=0.2)))
    async with in_process(sim, timeout=1.0) as api:
        started = time.monotonic()
        answer = await api.client.get("/tasks/x")
        assert time.monotonic() - started >= 0.2 and answer.status_code == 200
    async with in_process(sim, timeout=0.05) as api:
        with pytest.raises(httpx.ReadTimeout):
            await api.client.get("/tasks/y")


@pytest.mark.anyio
async def test_a_truncated_download_in_process(in_process) -> None:
    sim = fast_simulator()
    async with in_process(sim) as api:
        task_id = await api.create_id(api.body())
        url = (await api.wait_for(task_id, "SUCCEEDED"))["output"]["video_url"]
        sim.set_faults(Faults(truncated_download=1.0))
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async with api.client.stream("GET", url) as answer:
                expected = int(answer.headers["content-length"])
                async for chunk in answer.aiter_bytes():
                    received += chunk
    assert 0 < len(received) < expected
