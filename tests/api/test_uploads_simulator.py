"""Local files to temporary oss:// URLs: getPolicy, the form POST, the cache by content and model,
and the create that uses the URL, against the simulator on loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from kling_batch.api import (
    UPLOAD_VALIDITY,
    DashScopeClient,
    MemoryUploadCache,
    RequestRejected,
    RetryPolicy,
    Upload,
)
from kling_batch.hashing import sha256_file
from kling_batch.simulator import Faults
from tests.conftest import StartSimulator

MakeClient = Callable[..., DashScopeClient]

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"


@pytest.fixture
def frame(tmp_path: Path) -> Path:
    path = tmp_path / "flower start.PNG"
    Image.new("RGB", (640, 360), (200, 120, 40)).save(path, format="PNG")
    return path


def _first_frame_body(url: str) -> dict[str, Any]:
    return {
        "model": STANDARD,
        "input": {"prompt": "the flower opens", "media": [{"type": "first_frame", "url": url}]},
        "parameters": {"mode": "std", "duration": 5},
    }


@pytest.mark.anyio
async def test_an_uploaded_file_can_be_used_by_a_create(
    start_simulator: StartSimulator, make_client: MakeClient, frame: Path
) -> None:
    simulator, base_url = start_simulator()
    before = datetime.now(UTC)
    async with make_client(base_url) as client:
        upload = await client.upload_file(frame, STANDARD)
        # The simulator resolves the oss:// URL, and refuses it without the resolve header.
        task = await client.create_task(_first_frame_body(upload.url))
    assert task.task_id
    assert upload.url.startswith("oss://") and upload.url.endswith(".png")
    assert upload.sha256 == sha256_file(frame)
    assert upload.size == frame.stat().st_size
    assert upload.model == STANDARD
    assert before + UPLOAD_VALIDITY <= upload.expires_at <= datetime.now(UTC) + UPLOAD_VALIDITY
    (stored,) = simulator.uploads()
    assert stored.url == upload.url
    assert stored.sha256 == upload.sha256


@pytest.mark.anyio
async def test_a_file_is_uploaded_once_per_model(
    start_simulator: StartSimulator, make_client: MakeClient, frame: Path, tmp_path: Path
) -> None:
    simulator, base_url = start_simulator()
    copy = tmp_path / "same-bytes.png"
    copy.write_bytes(frame.read_bytes())
    async with make_client(base_url) as client:
        first = await client.upload_file(frame, STANDARD)
        again = await client.upload_file(copy, STANDARD)  # same content, other name
        omni = await client.upload_file(frame, OMNI)
    assert again == first
    assert omni.url != first.url
    assert simulator.stats().uploads == 2


@pytest.mark.anyio
async def test_concurrent_uploads_of_one_file_share_one_upload(
    start_simulator: StartSimulator, make_client: MakeClient, frame: Path
) -> None:
    simulator, base_url = start_simulator()
    results: list[Upload] = []
    async with make_client(base_url) as client:

        async def upload() -> None:
            results.append(await client.upload_file(frame, STANDARD))

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(upload)
    assert len({result.url for result in results}) == 1
    assert simulator.stats().uploads == 1


@pytest.mark.anyio
async def test_a_cached_upload_near_its_expiry_is_uploaded_again(
    start_simulator: StartSimulator, make_client: MakeClient, frame: Path
) -> None:
    simulator, base_url = start_simulator()
    cache = MemoryUploadCache()
    stale = Upload(
        url="oss://old/dir/file.png",
        model=STANDARD,
        sha256=sha256_file(frame),
        size=frame.stat().st_size,
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    cache.put(stale)
    async with make_client(base_url, upload_cache=cache) as client:
        fresh = await client.upload_file(frame, STANDARD)
    assert fresh.url != stale.url
    assert cache.get(fresh.sha256, STANDARD) == fresh
    assert simulator.stats().uploads == 1


def test_the_memory_cache_forgets_expired_uploads() -> None:
    cache = MemoryUploadCache()
    expired = Upload("oss://a", STANDARD, "0" * 64, 1, datetime.now(UTC) - timedelta(seconds=1))
    cache.put(expired)
    assert cache.get("0" * 64, STANDARD) is None
    assert len(cache) == 0


@pytest.mark.anyio
async def test_an_upload_rides_through_faults_with_a_fresh_policy_each_try(
    start_simulator: StartSimulator, make_client: MakeClient, frame: Path, no_retry_waits: None
) -> None:
    # With seed 6 the first two policy requests fail (reset or 5xx). The form's multipart
    # boundary is random, so the upload POST's rolls are too: rates and attempts are set so
    # that all 30 tries failing is a one-in-ten-million event.
    simulator, base_url = start_simulator(seed=6)
    simulator.set_faults(Faults(server_error=0.25, reset=0.15))
    async with make_client(base_url, retry=RetryPolicy(attempts=30)) as client:
        upload = await client.upload_file(frame, STANDARD)
        simulator.set_faults(Faults())
        task = await client.create_task(_first_frame_body(upload.url))
    assert task.task_id
    stats = simulator.stats()
    assert sum(stats.faults.values()) >= 2
    assert stats.requests["policy"] >= 3  # a fresh policy for every try
    assert stats.requests["policy"] >= stats.requests["upload"] >= 1


@pytest.mark.anyio
async def test_a_file_over_the_policy_limit_is_rejected_before_sending(
    start_simulator: StartSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    simulator, base_url = start_simulator()
    big = tmp_path / "huge.mp4"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024 + 1)  # sparse: 1 byte over the 100 MB limit
    async with make_client(base_url) as client:
        with pytest.raises(RequestRejected) as caught:
            await client.upload_file(big, OMNI)
    assert caught.value.code == "FileTooLarge"
    assert simulator.stats().requests.get("upload", 0) == 0
