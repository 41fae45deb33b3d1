"""Each injected fault over loopback, as a client meets it, plus the seeded determinism."""

from __future__ import annotations

import time

import httpx
import pytest

from kling_batch.hashing import sha256_json
from kling_batch.simulator import Faults, LostAnswer


async def listed(api) -> list[str]:
    answer = await api.client.get("/tasks/")
    return [row["task_id"] for row in answer.json()["data"]]


@pytest.mark.anyio
async def test_server_error_answers_5xx_and_creates_nothing(serve, connect) -> None:
    server = serve(faults=Faults(server_error=1.0))
    async with connect(server) as api:
        answers = [await api.create(api.body(f"shot {n}")) for n in range(8)]
    assert {a.status_code for a in answers} == {500, 503}  # both kinds, seeded
    assert {a.json()["code"] for a in answers} == {"InternalError", "ServiceUnavailable"}
    stats = server.simulator.stats()
    assert stats.creates == 0 and stats.faults == {"server_error": 8}


@pytest.mark.anyio
async def test_reset_closes_the_connection_without_an_answer(serve, connect) -> None:
    server = serve(faults=Faults(reset=1.0))
    async with connect(server) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            await api.create(api.body())
    assert server.simulator.stats().creates == 0
    assert server.simulator.stats().faults == {"reset": 1}


@pytest.mark.anyio
async def test_a_lost_create_hangs_but_the_task_exists(serve, connect) -> None:
    server = serve(faults=Faults(lost_create=1.0))
    async with connect(server, timeout=0.3) as api:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await api.create(api.body("lost"))
        waited = time.monotonic() - started
        server.simulator.set_faults(Faults())
        found = await listed(api)
    assert 0.25 < waited < 2
    assert len(found) == 1 and server.simulator.stats().creates == 1
    assert server.simulator.stats().faults == {"lost_create": 1}


@pytest.mark.anyio
async def test_a_hung_answer_ends_in_a_closed_connection_after_hang_seconds(serve, connect) -> None:
    server = serve(faults=Faults(lost_create=1.0), hang_seconds=0.2)
    async with connect(server, timeout=5) as api:
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            await api.create(api.body("lost"))
    assert time.monotonic() - started < 2
    assert server.simulator.stats().creates == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("lost_answer", "error"),
    [(LostAnswer.RESET, httpx.RemoteProtocolError), (LostAnswer.SERVER_ERROR, None)],
)
async def test_a_lost_create_may_end_in_a_reset_or_a_500(serve, connect, lost_answer, error):
    server = serve(faults=Faults(lost_create=1.0, lost_answer=lost_answer))
    async with connect(server) as api:
        if error is None:
            answer = await api.create(api.body("lost"))
            assert answer.status_code in (500, 503)
        else:
            with pytest.raises(error):
                await api.create(api.body("lost"))
        server.simulator.set_faults(Faults())
        assert len(await listed(api)) == 1
    assert server.simulator.stats().creates == 1


@pytest.mark.anyio
async def test_a_slow_answer_comes_late_but_whole(serve, connect) -> None:
    server = serve(faults=Faults(slow=1.0, slow_seconds=0.3))
    async with connect(server) as api:
        started = time.monotonic()
        answer = await api.create(api.body())
        waited = time.monotonic() - started
    assert answer.status_code == 200 and waited >= 0.3
    assert server.simulator.stats().faults == {"slow": 1}


@pytest.mark.anyio
async def test_a_truncated_download_stops_short_and_can_resume(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        task_id = await api.create_id(api.body())
        url = (await api.wait_for(task_id, "SUCCEEDED"))["output"]["video_url"]
        whole = (await api.client.get(url)).content
        server.simulator.set_faults(Faults(truncated_download=1.0))
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            async with api.client.stream("GET", url) as answer:
                assert int(answer.headers["content-length"]) == len(whole)
                async for chunk in answer.aiter_bytes():
                    received += chunk
        server.simulator.set_faults(Faults())
        rest = await api.client.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert 0 < len(received) < len(whole)
    assert bytes(received) + rest.content == whole
    assert server.simulator.stats().faults == {"truncated_download": 1}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "code", "kind"),
    [
        (Faults(task_failed=1.0), "InternalError.Algo", "task_failed"),
        (Faults(moderation=1.0), "DataInspectionFailed", "moderation"),
    ],
)
async def test_tasks_fail_when_told(serve, connect, faults, code, kind) -> None:
    server = serve(render_seconds=0.05, faults=faults)
    async with connect(server) as api:
        answer = await api.wait_for(await api.create_id(api.body()), "FAILED")
    assert answer["output"]["code"] == code
    assert server.simulator.stats().faults == {kind: 1}
    assert server.simulator.stats().tasks_by_status == {"FAILED": 1}


@pytest.mark.anyio
async def test_the_lost_and_error_hooks_hit_only_the_first_create(serve, connect) -> None:
    server = serve()
    async with connect(server, timeout=0.3) as api:
        with pytest.raises(httpx.ReadTimeout):
            await api.create(api.body("a [sim:lost]"))
        with pytest.raises(httpx.RemoteProtocolError):
            await api.create(api.body("b [sim:lost-reset]"))
        error = await api.create(api.body("c [sim:error]"))
        retries = [await api.create(api.body(p)) for p in ("a [sim:lost]", "c [sim:error]")]
    assert error.status_code in (500, 503)
    assert [r.status_code for r in retries] == [200, 200]
    stats = server.simulator.stats()
    assert stats.creates == 4 and stats.duplicate_creates == 1  # the lost one, then its retry
    assert stats.creates_by_body[sha256_json(api.body("a [sim:lost]"))] == 2


async def _outcomes(server, connect) -> list[int]:
    async with connect(server) as api:
        return [(await api.create(api.body(f"shot {n}"))).status_code for n in range(24)]


@pytest.mark.anyio
async def test_faults_are_seeded(serve, connect) -> None:
    faults = Faults(server_error=0.5)
    first = await _outcomes(serve(seed=1, faults=faults), connect)
    again = await _outcomes(serve(seed=1, faults=faults), connect)
    other = await _outcomes(serve(seed=2, faults=faults), connect)
    assert first == again != other
    assert 200 in first and {500, 503} & set(first)


@pytest.mark.anyio
async def test_a_retry_of_the_same_request_rolls_again(serve, connect) -> None:
    server = serve(faults=Faults(server_error=0.5))
    async with connect(server) as api:
        answers = [await api.create(api.body("the same body")) for _ in range(12)]
    assert {a.status_code for a in answers} & {500, 503} and 200 in {a.status_code for a in answers}


def test_fault_probabilities_are_checked() -> None:
    with pytest.raises(ValueError, match="server_error"):
        Faults(server_error=1.5)
