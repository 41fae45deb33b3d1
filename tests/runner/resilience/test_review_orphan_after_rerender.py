"""Review: a create whose answer is lost by a kill, followed by a change of the entry's content.

The old attempt's task exists (and is billed) but no entry ever recorded it. When the entry is
rendered again (`re-render`), the old attempt is kept as a superseded one and settled first, and
a finished task whose usage does not fit the body is no candidate: the re-render never takes the
old render (of the *old* body) as its own, and converges.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kling_batch.simulator import Simulator

from .helpers import events, record, run, sim_transport, simulator, write_manifest

V1 = """
    version: 1
    name: batch
    defaults: {mode: std, aspect_ratio: "16:9"}
    shots:
      - {id: cat, prompt: "a cat under the moon", duration: 3}
"""
V2 = V1.replace("duration: 3", "duration: 5")


class Killed(BaseException):
    """Stands for kill -9: the process is gone, nothing after this point runs."""


def _is_create(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/video-synthesis")


class KillAfterCreate(httpx.AsyncBaseTransport):
    """The first create reaches the simulator (its task exists and is billed); then the
    process dies before the answer is read."""

    def __init__(self, sim: Simulator) -> None:
        self.inner = sim_transport(sim)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if _is_create(request):
            await response.aread()
            raise Killed("kill -9 while the create's answer was on its way")
        return response


class CreateAnswers500(httpx.AsyncBaseTransport):
    """Every create is answered 500 before reaching the simulator: nothing is created, and the
    runner must settle it (a 5xx create may have created a task)."""

    def __init__(self, sim: Simulator) -> None:
        self.inner = sim_transport(sim)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _is_create(request):
            return httpx.Response(
                500, json={"code": "InternalError", "message": "boom", "request_id": "r-500"}
            )
        return await self.inner.handle_async_request(request)


def _killed_run(tmp_path: Path, sim: Simulator, output: Path) -> None:
    with pytest.raises(BaseException) as caught:
        run(write_manifest(tmp_path, V1), output, KillAfterCreate(sim))
    assert "Killed" in repr(caught.value) or isinstance(caught.value, Killed)
    assert sim.stats().creates == 1


def _assert_orphan_claimed_and_nothing_else_adopted(lines: list[dict[str, object]]) -> None:
    verdicts = [(e["verdict"], e.get("superseded")) for e in lines if e["event"] == "reconciled"]
    assert verdicts == [("adopted", True)] + [("not_created", None)] * 3
    assert lines[-2]["event"] == "entry_failed" and lines[-2]["code"] == "SubmitUnavailable"


@pytest.mark.parametrize("orphan", ["finished", "still-rendering"])
def test_a_rerender_after_a_killed_create_never_adopts_the_old_bodys_orphan(
    tmp_path: Path, orphan: str
) -> None:
    sim = simulator(render_seconds=0.1 if orphan == "finished" else 60.0)
    output = tmp_path / "out"
    _killed_run(tmp_path, sim, output)
    killed = record(output, "cat")
    assert killed is not None and killed.state == "submitting"
    before = len(events(output))

    # The user changes the duration (3 -> 5 s) and runs again; every new create is answered
    # 500 and creates nothing.
    run(write_manifest(tmp_path, V2), output, CreateAnswers500(sim))

    cat = record(output, "cat")
    assert cat is not None
    assert (cat.state, cat.task_id, cat.billed_seconds) == ("submitting", None, None)
    _assert_orphan_claimed_and_nothing_else_adopted(events(output)[before:])
    assert sim.stats().creates == 1  # the orphan only


def test_a_rerender_after_a_killed_create_converges(tmp_path: Path) -> None:
    sim = simulator()
    output = tmp_path / "out"
    _killed_run(tmp_path, sim, output)

    # The re-render's own create is lost too (reset after the task is made), once.
    class LoseFirstNewCreate(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = sim_transport(sim)
            self.lost = False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if _is_create(request) and not self.lost:
                self.lost = True
                raise httpx.ReadError("connection reset by peer")
            return response

    summary = run(write_manifest(tmp_path, V2), output, LoseFirstNewCreate())

    cat = record(output, "cat")
    assert summary.all_done and cat is not None
    assert cat.billed_seconds == 5
    assert sim.stats().creates == 2  # the orphan and the new render, each once
