"""Downloads against the simulator over loopback: resumed with Range, verified, renamed last."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from kling_batch.api import ApiKey, DashScopeClient
from kling_batch.runner.downloads import DownloadError, DownloadPolicy, UrlExpired, download_file
from kling_batch.simulator import Faults
from tests.conftest import Sim, StartSimulator

QUICK = DownloadPolicy(attempts=8, backoff=0.01, max_backoff=0.05)


async def video_urls(sim: Sim, count: int) -> list[str]:
    async with DashScopeClient(sim.base_url, ApiKey("sk-downloads-test-0000")) as client:
        tasks = [
            await client.create_task(
                {
                    "model": "kling/kling-v3-video-generation",
                    "input": {"prompt": f"clip {n}"},
                    "parameters": {"aspect_ratio": "16:9", "mode": "std"},
                }
            )
            for n in range(count)
        ]
        sim.simulator.advance(1.0)  # every render has ended
        urls = []
        for task in tasks:
            done = await client.get_task(task.task_id)
            assert done.video_url is not None
            urls.append(done.video_url)
        return urls


@pytest.mark.anyio
async def test_cut_downloads_resume_with_range_and_verify(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = start_simulator(render_seconds=0.0, seed=3, faults=Faults(truncated_download=0.5))
    ranges: list[str] = []

    async def note_range(request: httpx.Request) -> None:
        if "range" in request.headers:
            ranges.append(request.headers["range"])

    urls = await video_urls(sim, 6)
    async with httpx.AsyncClient(event_hooks={"request": [note_range]}) as http:
        kept = [
            await download_file(http, url, tmp_path / f"v{n}.mp4", policy=QUICK)
            for n, url in enumerate(urls)
        ]

    assert ranges, "no download was ever resumed"
    assert all(value.startswith("bytes=") and value != "bytes=0-" for value in ranges)
    for n, record in enumerate(kept):
        data = (tmp_path / f"v{n}.mp4").read_bytes()
        assert record.size == len(data)
        assert record.sha256 == hashlib.sha256(data).hexdigest()
        assert data[4:8] == b"ftyp"
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.anyio
async def test_a_refused_url_asks_for_fresh_urls(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    (url,) = await video_urls(start_simulator(render_seconds=0.0), 1)
    forged = url.replace("Signature=", "Signature=x")
    async with httpx.AsyncClient() as http:
        with pytest.raises(UrlExpired):
            await download_file(http, forged, tmp_path / "v.mp4", policy=QUICK)
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.anyio
async def test_what_is_not_an_mp4_never_gets_the_final_name(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"<html>an error page</html>"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(DownloadError, match="not an MP4"):
            await download_file(http, "https://cdn.example/v.mp4", tmp_path / "v.mp4", policy=QUICK)
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.anyio
async def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="http"):
            await download_file(http, "http://cdn.example/v.mp4", tmp_path / "v.mp4")
