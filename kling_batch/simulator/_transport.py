"""The simulator as an httpx transport: no socket, same answers and the same failures.

Failures surface as the exceptions httpx raises for them over the loopback server: a connection
closed without an answer or in the middle of a body is a RemoteProtocolError, an answer that does
not come within the request's read timeout a ReadTimeout, as httpcore would raise them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, unquote

import anyio
import httpx

from kling_batch.simulator._core import Simulator
from kling_batch.simulator._protocol import Action, Reply, SimRequest

_NO_ANSWER = "Server disconnected without sending a response."


class _SimulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        reply = self._simulator.handle(_sim_request(request, body))
        read_timeout = _read_timeout(request)
        if reply.action is Action.HANG:
            await _wait(request, read_timeout, None, self._simulator.config.hang_seconds)
        if reply.action is not Action.ANSWER:
            raise httpx.RemoteProtocolError(_NO_ANSWER, request=request)
        if reply.delay > 0:
            await _wait(request, read_timeout, reply.delay, None)
        headers = [*reply.headers, ("Content-Length", str(reply.content_length))]
        if request.method == "HEAD":
            return httpx.Response(reply.status, headers=headers, request=request)
        stream = _ReplyStream(reply, request)
        return httpx.Response(reply.status, headers=headers, stream=stream, request=request)


def simulator_transport(simulator: Simulator) -> httpx.AsyncBaseTransport:
    """An httpx transport that serves every URL from `simulator`.

    Use it with the base URL "http://localhost/api/v1"; the URLs the simulator hands out (video
    files, the upload host) point at the same origin, so the same client reaches them.
    """
    return _SimulatorTransport(simulator)


class _ReplyStream(httpx.AsyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply = reply
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        cut = self._reply.truncate_at
        if cut is None:
            yield self._reply.body
            return
        if cut:
            yield self._reply.body[:cut]
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {cut} bytes, expected {len(self._reply.body)})",
            request=self._request,
        )


def _sim_request(request: httpx.Request, body: bytes) -> SimRequest:
    url = request.url
    query: dict[str, str] = {}
    for name, value in parse_qsl(url.query.decode("ascii"), keep_blank_values=True):
        query.setdefault(name, value)
    port = f":{url.port}" if url.port is not None else ""
    return SimRequest(
        method=request.method,
        path=unquote(url.raw_path.split(b"?", 1)[0].decode("ascii")),
        query=query,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        origin=f"{url.scheme}://{url.host}{port}",
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout", {})
    value = timeouts.get("read") if isinstance(timeouts, dict) else None
    return float(value) if value is not None else None


async def _wait(
    request: httpx.Request, read_timeout: float | None, seconds: float | None, cap: float | None
) -> None:
    """Sleep `seconds` (None: until the cap), raising ReadTimeout if the read timeout is shorter."""
    limits = [t for t in (seconds, cap) if t is not None]
    wanted = min(limits) if limits else None
    if read_timeout is not None and (wanted is None or read_timeout < wanted):
        await anyio.sleep(read_timeout)
        raise httpx.ReadTimeout("timed out waiting for the simulator's answer", request=request)
    if wanted is None:
        await anyio.sleep_forever()
    else:
        await anyio.sleep(wanted)
