"""Fixtures for the simulator's tests: servers on loopback and a thin client speaking the API."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image

from kling_batch.simulator import (
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    simulator_transport,
)
from tests.conftest import FAST as SHARED_FAST

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"
CREATE = "/services/aigc/video-generation/video-synthesis"
ASYNC = {"X-DashScope-Async": "enable"}
KEY = "sk-simulator-test"


def image_bytes(width: int = 640, height: int = 360, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """An image the service takes by default; other sizes, formats or modes to test its checks."""
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 120, 40)).save(out, format=fmt)
    return out.getvalue()


FRAME = image_bytes()
# The committed 320x180 sample (scripts/make_sample_clip.py): a real mp4 too small to be taken as
# an input video.
SAMPLE_CLIP = resources.files("kling_batch.simulator").joinpath("sample.mp4").read_bytes()

# No rate limits unless a test asks for them; renders long enough to be caught running.
FAST: dict[str, Any] = {**SHARED_FAST, "render_seconds": 0.2}


def body(
    prompt: str | None = "a cat running under the moon",
    model: str = STANDARD,
    media: list[dict[str, Any]] | None = None,
    **parameters: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if prompt is not None:
        data["prompt"] = prompt
    if media is not None:
        data["media"] = media
    return {"model": model, "input": data, "parameters": parameters}


class Api:
    """Plain httpx calls of the documented endpoints; every test reads the raw answers."""

    body = staticmethod(body)

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.client.post(CREATE, json=payload, headers={**ASYNC, **headers})

    async def create_id(self, payload: dict[str, Any], **headers: str) -> str:
        answer = await self.create(payload, **headers)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["output"]["task_id"])

    async def query(self, task_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def wait_for(self, task_id: str, *statuses: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.query(task_id)
            if answer["output"]["task_status"] in statuses:
                return answer
            assert time.monotonic() < deadline, f"still {answer['output']['task_status']}"
            await anyio.sleep(0.02)

    async def policy(self, model: str = STANDARD) -> dict[str, Any]:
        answer = await self.client.get("/uploads", params={"action": "getPolicy", "model": model})
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    async def upload(
        self,
        data: bytes = FRAME,
        model: str = STANDARD,
        name: str = "frame.png",
        **overrides: str,
    ) -> tuple[httpx.Response, str]:
        """POST the form as the reference lists it, `file` last; returns the answer and URL."""
        policy = await self.policy(model)
        key = overrides.pop("key", f"{policy['upload_dir']}/{name}")
        fields = {
            "OSSAccessKeyId": policy["oss_access_key_id"],
            "policy": policy["policy"],
            "Signature": policy["signature"],
            "key": key,
            "x-oss-object-acl": policy["x_oss_object_acl"],
            "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
            "success_action_status": "200",
            **overrides,
        }
        files = {name: (None, value) for name, value in fields.items()}
        files["file"] = (name, data)  # type: ignore[assignment]
        answer = await self.client.post(policy["upload_host"], files=files)
        return answer, f"oss://{key}"


Connect = Callable[..., AbstractAsyncContextManager[Api]]
Serve = Callable[..., SimulatorServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a simulator on loopback: serve(**config changes) -> a running SimulatorServer."""
    servers: list[SimulatorServer] = []

    def start(**changes: Any) -> SimulatorServer:
        server = SimulatorServer(Simulator(SimulatorConfig(**{**FAST, **changes})))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def connect() -> Connect:
    """connect(server, key=..., timeout=...) -> async context manager of an Api on it."""

    @asynccontextmanager
    async def open_api(
        server: SimulatorServer, key: str | None = KEY, timeout: float = 5.0, **options: Any
    ) -> AsyncIterator[Api]:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=headers, timeout=timeout, **options
        ) as client:
            yield Api(client)

    return open_api


@pytest.fixture
def in_process() -> Connect:
    """in_process(simulator) -> async context manager of an Api over simulator_transport."""

    @asynccontextmanager
    async def open_api(simulator: Simulator, timeout: float = 5.0) -> AsyncIterator[Api]:
        async with httpx.AsyncClient(
            base_url="http://localhost/api/v1",
            headers={"Authorization": f"Bearer {KEY}"},
            transport=simulator_transport(simulator),
            timeout=timeout,
        ) as client:
            yield Api(client)

    return open_api
