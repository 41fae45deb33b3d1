"""What the simulator counts, through sim.stats() and GET /__sim/stats alike."""

from __future__ import annotations

import pytest

from kling_batch.hashing import sha256_json


@pytest.mark.anyio
async def test_creates_are_counted_per_canonical_body(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        cat, dog = api.body("a cat"), api.body("a dog")
        for payload in (cat, dog, cat, cat):
            await api.create(payload)
        # the same JSON spelled another way is the same body
        spelled = b'{"parameters": {}, "input": {"prompt": "a dog"},\n "model": "%s"}' % (
            dog["model"].encode()
        )
        await api.client.post(
            "/services/aigc/video-generation/video-synthesis",
            content=spelled,
            headers={"X-DashScope-Async": "enable", "Content-Type": "application/json"},
        )
        served = (await api.client.get(server.origin + "/__sim/stats")).json()
    stats = server.simulator.stats()
    assert stats.creates == 5
    assert stats.creates_by_body == {sha256_json(cat): 3, sha256_json(dog): 2}
    assert stats.duplicate_creates == 3
    assert served["creates_by_body"] == stats.creates_by_body
    assert served["requests"] == {"create": 5}  # control endpoints are not counted


@pytest.mark.anyio
async def test_requests_downloads_and_peak_are_counted(serve, connect) -> None:
    server = serve(render_seconds=0.1, slots=2)
    async with connect(server) as api:
        ids = [await api.create_id(api.body(f"shot {n}")) for n in range(3)]
        outputs = [(await api.wait_for(i, "SUCCEEDED"))["output"] for i in ids]
        for output in outputs[:2]:
            await api.client.get(output["video_url"])
        await api.client.get("/tasks/")
        await api.client.get("/no/such/path")
        served = (await api.client.get(server.origin + "/__sim/stats")).json()
    stats = server.simulator.stats()
    assert stats.peak_running == 2
    assert stats.downloads == 2
    assert stats.tasks_by_status == {"SUCCEEDED": 3}
    assert stats.requests["create"] == 3 and stats.requests["download"] == 2
    assert stats.requests["list"] == 1 and stats.requests["other"] == 1
    assert stats.requests["query"] >= 3
    assert served == stats.to_json()


@pytest.mark.anyio
async def test_an_unknown_path_is_404(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.client.get("/services/aigc/video-generation/video-synthesis")
        control = await api.client.get(api.client.base_url.join("/__sim/nothing"))
    assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
    assert control.status_code == 404
