"""Kills at chosen moments of a create, under every reading of the docs, pay for each body once.

The fault: six runs each die (kill -9) at their n-th create, either after it reached the service
or before it left, while a third of the creates' answers are lost (reset, 500, or a hang), under
each list zone x storyboard echo. The manifest has the hard cases: storyboards without a prompt
(two share their first shot), two entries with identical bodies, and a third with their prompt
but another duration. The promise: reruns converge; every entry holds a task of its own that
renders its own body (its billed seconds); identical bodies are created once each, never one
task for both.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from kling_batch.simulator import Faults, ListZone, LostAnswer, Simulator, StoryboardEcho

from .helpers import record, run, sim_transport, simulator, write_manifest

MANIFEST = """
    version: 1
    name: batch
    defaults: {mode: std, aspect_ratio: "16:9"}
    shots:
      - {id: s1, prompt: "scene one", duration: 3}
      - {id: s2, prompt: "scene two", duration: 3}
      - {id: twin-a, prompt: "the twin scene", duration: 3}
      - {id: twin-b, prompt: "the twin scene", duration: 3}
      - {id: twin-long, prompt: "the twin scene", duration: 5}
    storyboards:
      - id: b1
        shot_type: customize
        multi_prompt:
          - {prompt: "a board opens", duration: 2}
          - {prompt: "and closes", duration: 2}
      - id: b2
        shot_type: customize
        multi_prompt:
          - {prompt: "a board opens", duration: 2}
          - {prompt: "and goes on", duration: 3}
      - id: b3
        shot_type: customize
        multi_prompt:
          - {prompt: "another board", duration: 3}
          - {prompt: "ends", duration: 3}
"""
EXPECTED_SECONDS = {
    "s1": 3,
    "s2": 3,
    "twin-a": 3,
    "twin-b": 3,
    "twin-long": 5,
    "b1": 4,
    "b2": 5,
    "b3": 6,
}


class Killed(BaseException):
    """Stands for kill -9."""


class KillAtCreate(httpx.AsyncBaseTransport):
    """Dies at the `nth` create of this run: after it reached the service (`arrived`), or
    before it left."""

    def __init__(self, sim: Simulator, nth: int, *, arrived: bool) -> None:
        self.inner = sim_transport(sim)
        self.nth = nth
        self.arrived = arrived
        self.creates = 0
        self.dead = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.dead:
            # A killed process sends nothing more. (Not Killed again: a look-alike woken in the
            # moment before the run unwinds would record an intent a real kill never writes;
            # a connect error makes the runner drop it, as if it never happened.)
            raise httpx.ConnectError("the process is gone", request=request)
        is_create = request.method == "POST" and request.url.path.endswith("/video-synthesis")
        if is_create:
            self.creates += 1
            if self.creates == self.nth and not self.arrived:
                self.dead = True
                raise Killed("killed before the create left")
        response = await self.inner.handle_async_request(request)
        if is_create and self.creates == self.nth:
            await response.aread()
            self.dead = True
            raise Killed("killed while the create's answer was on its way")
        return response


LOST = [LostAnswer.RESET, LostAnswer.SERVER_ERROR, LostAnswer.HANG]
MODES = list(itertools.product(ListZone, StoryboardEcho, LOST))


@pytest.mark.parametrize(
    ("zone", "echo", "lost"), MODES, ids=[f"{z}-{e}-{lost}" for z, e, lost in MODES]
)
def test_kills_and_lost_creates_pay_once_and_render_each_body(
    tmp_path: Path, zone: ListZone, echo: StoryboardEcho, lost: LostAnswer
) -> None:
    sim = simulator(
        seed=7,
        list_zone=zone,
        storyboard_echo=echo,
        hang_seconds=0.2,
        faults=Faults(lost_create=0.35, lost_answer=lost),
    )
    manifest = write_manifest(tmp_path, MANIFEST)
    output = tmp_path / "out"
    for nth, arrived in [(1, True), (2, True), (1, False), (3, True), (2, False), (1, True)]:
        try:
            run(manifest, output, KillAtCreate(sim, nth, arrived=arrived), concurrency=3)
        except BaseException as error:
            assert "Killed" in repr(error), repr(error)

    states = []
    for _ in range(3):
        summary = run(manifest, output, sim_transport(sim), concurrency=3)
        states.append(summary.states)
        if summary.all_done:
            break
    assert summary.all_done, states[-1]

    stats = sim.stats()
    assert stats.creates == len(EXPECTED_SECONDS), stats.creates_by_body
    # identical bodies: exactly one task each, never one task for both
    assert sorted(stats.creates_by_body.values()) == [1, 1, 1, 1, 1, 1, 2]
    records = {entry_id: record(output, entry_id) for entry_id in EXPECTED_SECONDS}
    assert len({r.task_id for r in records.values()}) == len(records)
    for entry_id, seconds in EXPECTED_SECONDS.items():
        assert records[entry_id].billed_seconds == seconds, (entry_id, records[entry_id])
