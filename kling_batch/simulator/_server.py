"""The simulator on a loopback socket: HTTP/1.1 with keep-alive, on h11 and anyio.

h11 over plain anyio sockets, rather than an ASGI server, because the faults live below HTTP:
closing a connection without an answer, holding a request open forever, sending fewer body
bytes than Content-Length. A framework would answer for us or finish the body; here every byte
is ours to send or withhold.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import traceback
from concurrent.futures import Future
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import anyio.from_thread
import h11
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from kling_batch.simulator._core import Simulator
from kling_batch.simulator._protocol import Action, Reply, SimRequest

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only
MAX_BODY = 110 * 1024 * 1024  # a 100 MB upload plus its form
_READ_CHUNK = 65536
_SERVER_NAME = b"kling-batch-simulator"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SimulatorServer:
    """Serves `simulator` on host:port from a background thread with its own event loop.

        with SimulatorServer(sim) as server:
            client = httpx.AsyncClient(base_url=server.base_url)

    Only loopback hosts: the simulator takes any key, so it must not face a network.
    """

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the simulator serves loopback addresses only, not {host!r}")
        self._simulator = simulator
        self._host = host
        self._port = port
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._served: Future[None] | None = None
        self._scope: anyio.CancelScope | None = None

    @property
    def origin(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/api/v1"

    @property
    def port(self) -> int:
        return self._port

    @property
    def simulator(self) -> Simulator:
        return self._simulator

    def start(self) -> None:
        if self._portal is not None:
            raise RuntimeError("the simulator server is already running")
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._served, self._port = self._portal.start_task(self._serve, name="simulator")
        except BaseException:
            self._portal_cm.__exit__(*sys.exc_info())
            self._portal = self._portal_cm = None
            raise

    def stop(self) -> None:
        if self._portal is None or self._portal_cm is None:
            return
        if self._scope is not None:
            self._portal.call(self._scope.cancel)
        if self._served is not None:
            self._served.exception()  # wait for the listener and every connection to close
        self._portal_cm.__exit__(None, None, None)
        self._portal = self._portal_cm = None

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host=self._host, local_port=self._port)
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            self._scope = group.cancel_scope
            task_status.started(port)
            await listener.serve(self._connection, task_group=group)

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:
            try:
                await _Connection(self._simulator, stream, self.origin).run()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                pass  # the client went away; nothing to tell it
            except Exception:
                # One broken exchange must not stop the server; say what happened and go on.
                traceback.print_exc(file=sys.stderr)


class _Connection:
    def __init__(self, simulator: Simulator, stream: SocketStream, origin: str) -> None:
        self._simulator = simulator
        self._stream = stream
        self._origin = origin
        self._h11 = h11.Connection(h11.SERVER)
        self._socket = stream.extra(SocketAttribute.raw_socket)

    async def run(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as error:
                await self._refuse(error.error_status_hint, str(error))
                return
            if request is None:
                return
            reply = self._simulator.handle(request)
            if not await self._answer(request, reply):
                return
            if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
                return
            self._h11.start_next_cycle()

    async def _next_event(self) -> Any:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._ack_at_once()
            try:
                data = await self._stream.receive(_READ_CHUNK)
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                data = b""
            self._h11.receive_data(data)

    def _ack_at_once(self) -> None:
        """Acknowledge the next segment at once instead of up to 40 ms later.

        httpx's async client writes a request's head and body separately and, on its anyio
        sockets, with Nagle's algorithm on: its body waits for our ACK of the head, which
        Linux would delay. Linux clears the flag after each use, so it is set before each read.
        """
        if _QUICKACK is not None:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    async def _read_request(self) -> SimRequest | None:
        event = await self._next_event()
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError("expected a request", error_status_hint=400)
        body = bytearray()
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > MAX_BODY:
                    raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                raise h11.RemoteProtocolError("the request ended early", error_status_hint=400)
        return self._sim_request(event, bytes(body))

    def _sim_request(self, event: h11.Request, body: bytes) -> SimRequest:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers
        }
        target = event.target.decode("latin-1")
        path, _, raw_query = target.partition("?")
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        host = headers.get("host")
        return SimRequest(
            method=event.method.decode("ascii").upper(),
            path=unquote(path),
            query=query,
            headers=headers,
            body=body,
            origin=f"http://{host}" if host else self._origin,
        )

    async def _answer(self, request: SimRequest, reply: Reply) -> bool:
        """Act out the reply; False when the connection is done with."""
        if reply.action is Action.HANG:
            with anyio.move_on_after(self._simulator.config.hang_seconds):
                await self._until_client_leaves()
            return False
        if reply.action is Action.RESET:
            return False
        if reply.delay > 0:
            await anyio.sleep(reply.delay)
        headers = [
            *reply.headers,
            ("Content-Length", str(reply.content_length)),
            ("Server", _SERVER_NAME.decode()),
        ]
        # One write per answer: a head and body in separate small segments would meet the
        # peer's delayed ACK (Nagle), and cost ~40 ms per exchange.
        out = self._h11.send(h11.Response(status_code=reply.status, headers=headers)) or b""
        if request.method == "HEAD":
            await self._stream.send(out + (self._h11.send(h11.EndOfMessage()) or b""))
            return True
        if reply.truncate_at is not None:
            await self._stream.send(out + reply.body[: reply.truncate_at])
            return False  # closing now leaves the client short of Content-Length
        if reply.body:
            out += self._h11.send(h11.Data(data=reply.body)) or b""
        await self._stream.send(out + (self._h11.send(h11.EndOfMessage()) or b""))
        return True

    async def _until_client_leaves(self) -> None:
        while True:
            try:
                await self._stream.receive(_READ_CHUNK)
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                return

    async def _refuse(self, status: int, message: str) -> None:
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = message.encode()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        headers.append(("Connection", "close"))
        await self._send(h11.Response(status_code=status, headers=headers))
        await self._send(h11.Data(data=body))
        await self._send(h11.EndOfMessage())

    async def _send(self, event: Any) -> None:
        data = self._h11.send(event)
        if data:
            await self._stream.send(data)
