"""The API key appears in nothing the client writes, prints, logs or raises, and travels only to
the DashScope API, never to the upload host or a download URL. One distinctive key is run
through every path, failures included, against the simulator on loopback."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image

from kling_batch.api import (
    AccountError,
    AmbiguousSubmission,
    ApiError,
    ApiKey,
    CancelRefused,
    DashScopeClient,
    MissingApiKey,
    Pacing,
    RequestRejected,
    RetryPolicy,
    ThrottledError,
    TransientError,
    api_key_from_env,
)
from kling_batch.simulator import Faults, Simulator, SimulatorConfig, simulator_transport
from tests.conftest import StartSimulator

TextBody = Callable[..., dict[str, Any]]

KEY = "sk-Zz9-distinctive-Qx7Kp2Lm4Nw8"
PARTS = (KEY, KEY[3:], KEY[-12:])  # the key, and pieces long enough to give it away


class _Spy(httpx.AsyncBaseTransport):
    """The real loopback transport, recording which paths carried an Authorization header."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.authorized: list[str] = []
        self.unauthorized: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        carried = "Authorization" in request.headers
        (self.authorized if carried else self.unauthorized).append(request.url.path)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _assert_clean(text: str, where: str) -> None:
    for part in PARTS:
        assert part not in text, f"the key leaked into {where}"


async def _every_path(
    client: DashScopeClient,
    simulator: Simulator,
    text_body: TextBody,
    frame: Path,
    seen: list[object],
) -> None:
    """Success and failure on each call; every result and error goes into `seen`."""
    seen.append(client)
    start = datetime.fromtimestamp(simulator.now(), UTC)
    running = await client.create_task(text_body("running"))
    pending = await client.create_task(text_body("pending"))
    seen += [running, pending, running.raw]
    upload = await client.upload_file(frame, "kling/kling-v3-video-generation")
    seen.append(upload)
    seen.append(await client.list_tasks(start, start + timedelta(minutes=1)))
    await client.cancel_task(pending.task_id)
    with anyio.fail_after(5):
        while not (done := await client.get_task(running.task_id)).status.is_terminal:
            await anyio.sleep(0.05)
    seen += [done, done.raw]
    assert done.video_url is not None
    seen.append((await client.http.get(done.video_url)).status_code)

    failures: list[tuple[type[ApiError], Callable[[], Any]]] = [
        (CancelRefused, lambda: client.cancel_task(running.task_id)),
        (RequestRejected, lambda: client.create_task(text_body("bad", duration=99))),
        (AmbiguousSubmission, lambda: client.create_task(text_body("lost [sim:lost-reset]"))),
        (AmbiguousSubmission, lambda: client.create_task(text_body("error [sim:error]"))),
        (AccountError, lambda: client.create_task(text_body("x", model="kling/nope"))),
    ]
    for expected, call in failures:
        with pytest.raises(expected) as caught:
            await call()
        seen.append(caught.value)

    simulator.set_faults(Faults(server_error=1.0))
    with pytest.raises(TransientError) as transient:
        await client.get_task(running.task_id)
    seen.append(transient.value)
    simulator.set_faults(Faults())


@pytest.mark.anyio
async def test_the_key_is_in_nothing_written_printed_logged_or_raised(
    start_simulator: StartSimulator,
    text_body: TextBody,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_retry_waits: None,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore, stamina and ours, at their chattiest
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    frame = tmp_path / "frame.png"
    Image.new("RGB", (400, 400), "navy").save(frame)

    simulator, base_url = start_simulator(api_key=KEY, slots=1)
    spy = _Spy()
    seen: list[object] = []
    fast = Pacing(1000.0, 1000.0, upload_policies_per_second=1000.0)
    client = DashScopeClient(
        base_url, api_key_from_env(), transport=spy, pacing=fast, retry=RetryPolicy(attempts=3)
    )
    async with client:
        await _every_path(client, simulator, text_body, frame, seen)

    # A wrong key and a throttled account fail too, and say nothing of the key either.
    _, other_url = start_simulator(api_key="sk-not-this-one")
    async with DashScopeClient(other_url, ApiKey(KEY), pacing=fast) as wrong:
        with pytest.raises(AccountError) as refused:
            await wrong.get_task("t")
        seen.append(refused.value)
    _, slow_url = start_simulator(api_key=KEY, query_rate=0.01)
    retry_once = RetryPolicy(attempts=2)
    async with DashScopeClient(slow_url, ApiKey(KEY), pacing=fast, retry=retry_once) as slow:
        await slow.get_task("first")
        with pytest.raises(ThrottledError) as slowed:
            await slow.get_task("second")
        seen.append(slowed.value)
    with pytest.raises(MissingApiKey) as bad_key:
        ApiKey(KEY + "\n\x00")
    seen.append(bad_key.value)

    for index, thing in enumerate(seen):
        _assert_clean(repr(thing), f"repr of item {index}")
        _assert_clean(str(thing), f"str of item {index}")
        if isinstance(thing, BaseException):
            # The whole chain, as a traceback would print it.
            _assert_clean("".join(traceback.format_exception(thing)), f"traceback {index}")
            _assert_clean(repr(vars(thing)), f"attributes of item {index}")
        if isinstance(thing, dict):
            _assert_clean(json.dumps(thing), f"task.json of item {index}")
    assert caplog.records, "the test must capture the client's logs to mean anything"
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record {record.name}")
        _assert_clean(repr(vars(record)), f"log record {record.name} extras")
    printed = capsys.readouterr()
    _assert_clean(printed.out + printed.err, "stdout/stderr")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            _assert_clean(path.read_bytes().decode("latin-1"), str(path))

    # The key went to the API only, never to the upload host or a video URL.
    assert spy.authorized and all(path.startswith("/api/v1/") for path in spy.authorized)
    assert any(path.startswith("/__oss") for path in spy.unauthorized)
    assert any(path.startswith("/__files/") for path in spy.unauthorized)


@pytest.mark.anyio
async def test_a_short_test_key_does_not_corrupt_answers() -> None:
    # "k" occurs in "task_id": scrubbing it would make every answer unreadable.
    simulator = Simulator(SimulatorConfig(render_seconds=0.0))
    async with DashScopeClient(
        "http://localhost/api/v1", ApiKey("k"), transport=simulator_transport(simulator)
    ) as client:
        task = await client.create_task(
            {
                "model": "kling/kling-v3-video-generation",
                "input": {"prompt": "a kite"},
                "parameters": {"aspect_ratio": "16:9"},
            }
        )
        assert (await client.get_task(task.task_id)).task_id == task.task_id
