"""The loopback server itself: keep-alive, hundreds of concurrent requests, bad input, shutdown."""

from __future__ import annotations

import socket

import anyio
import h11
import httpx
import pytest

from kling_batch.simulator import Simulator, SimulatorServer


def exchange(sock: socket.socket, conn: h11.Connection, target: str) -> h11.Response:
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", "127.0.0.1"), ("Authorization", "Bearer sk-test")],
    )
    sock.sendall(conn.send(request) + conn.send(h11.EndOfMessage()))
    response = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None
            return response


def test_one_connection_serves_many_requests(serve) -> None:
    server = serve()
    conn = h11.Connection(h11.CLIENT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        statuses = []
        for n in range(3):
            statuses.append(exchange(sock, conn, f"/api/v1/tasks/t{n}").status_code)
            conn.start_next_cycle()
    assert statuses == [200, 200, 200]
    assert server.simulator.stats().requests == {"query": 3}


def test_malformed_http_gets_400_and_the_server_goes_on(serve) -> None:
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400")
    answer = httpx.get(server.base_url + "/tasks/x", headers={"Authorization": "Bearer k"})
    assert answer.status_code == 200


@pytest.mark.anyio
async def test_hundreds_of_concurrent_requests(serve, connect) -> None:
    # Several clients: one httpx pool with hundreds of waiting requests spends its time on its
    # own bookkeeping, which is not what this test measures.
    server = serve(render_seconds=0.2)
    answers: list[httpx.Response] = []
    ids: list[str] = []

    async def client(first: int) -> None:
        async with connect(server, timeout=30) as api:

            async def create(n: int) -> None:
                answer = await api.create(api.body(f"shot {n}"))
                answers.append(answer)
                answers.append(await api.client.get(f"/tasks/{answer.json()['output']['task_id']}"))
                ids.append(answer.json()["output"]["task_id"])

            async with anyio.create_task_group() as group:
                for n in range(first, first + 30):
                    group.start_soon(create, n)

    async with anyio.create_task_group() as group:
        for first in range(0, 300, 30):
            group.start_soon(client, first)
    assert len(answers) == 600 and {a.status_code for a in answers} == {200}
    stats = server.simulator.stats()
    assert stats.creates == 300 and stats.duplicate_creates == 0 and len(set(ids)) == 300
    assert stats.peak_running == 10


def test_only_loopback_hosts_are_served() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(Simulator(), host="0.0.0.0")


def test_the_base_url_names_the_port_and_stop_frees_it() -> None:
    server = SimulatorServer(Simulator(), port=0)
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/api/v1"
        assert server.port > 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/tasks/x", timeout=1)
