"""Takes (`takes: N`) are N renders of one body: N creates, N tasks, one per take.

The task list tells the tasks of identical bodies apart by nothing, so the runner keeps them
one at a time in submission (runner/lookalikes.py) until each has its task id: a lost create
among them can then be settled, in the same run or the next, without paying twice.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import anyio
import httpx

from kling_batch.manifest.model import Manifest
from kling_batch.runner.events import SubmitAmbiguous
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Faults, LostAnswer, Simulator, simulator_transport
from tests.conftest import fast_simulator, read_events, run, write_manifest
from tests.plan.conftest import StopAt, at

TAKES = """
    version: 1
    name: batch
    defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
    shots:
      - id: film
        prompt: "{prompt}"
        takes: 3
      - {{id: other, prompt: "another film"}}
"""
TAKE_IDS = ["film-take1", "film-take2", "film-take3"]


def manifest_of(tmp_path: Path, prompt: str = "a city wakes up at dawn") -> Manifest:
    return write_manifest(tmp_path, TAKES.format(prompt=prompt))


class CreatesInFlight(httpx.AsyncBaseTransport):
    """Counts the creates of each body on the wire at once. Each create lets every other task
    of the run go as far as it can before it is forwarded, so that two creates of one body
    would overlap here if the runner let them."""

    def __init__(self, simulator: Simulator) -> None:
        self.inner = simulator_transport(simulator)
        self.open: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not (request.method == "POST" and request.url.path.endswith("/video-synthesis")):
            return await self.inner.handle_async_request(request)
        body = json.dumps(json.loads(request.content), sort_keys=True)
        self.open[body] += 1
        self.most[body] = max(self.most[body], self.open[body])
        try:
            await anyio.wait_all_tasks_blocked()
            return await self.inner.handle_async_request(request)
        finally:
            self.open[body] -= 1


def tasks_of(output: Path) -> dict[str, str | None]:
    store = StateStore.open_folder(output / "batch", readonly=True)
    try:
        records = {entry_id: store.get(entry_id) for entry_id in [*TAKE_IDS, "other"]}
    finally:
        store.close()
    assert all(r is not None and r.state is EntryState.DONE for r in records.values()), records
    return {entry_id: r.task_id for entry_id, r in records.items() if r is not None}


def test_takes_are_sent_one_at_a_time_and_each_gets_a_task_of_its_own(tmp_path: Path) -> None:
    sim = fast_simulator()
    wire = CreatesInFlight(sim)
    output = tmp_path / "out"

    summary = run(manifest_of(tmp_path), output, wire, concurrency=10)

    assert summary is not None and summary.all_done
    assert set(wire.most.values()) == {1}, "two creates of one body were on the wire at once"
    tasks = tasks_of(output)
    assert len(set(tasks.values())) == 4
    assert sim.stats().creates == 4  # three takes and the other entry, each once


def test_a_lost_create_among_takes_is_settled_in_the_run_without_paying_twice(
    tmp_path: Path,
) -> None:
    # The first create of the body makes its task, then its answer is lost (a 500).
    sim = fast_simulator(faults=Faults(lost_answer=LostAnswer.SERVER_ERROR))
    output = tmp_path / "out"

    summary = run(manifest_of(tmp_path, "a city wakes up [sim:lost]"), output, sim)

    assert summary is not None and summary.all_done
    assert sim.stats().faults.get("lost_create") == 1
    assert sim.stats().creates == 4
    assert len(set(tasks_of(output).values())) == 4
    lines = read_events(output / "batch" / "events.jsonl")
    assert [e["verdict"] for e in lines if e["event"] == "reconciled"] == ["adopted"]


def test_a_lost_create_among_takes_is_settled_by_the_next_run_without_paying_twice(
    tmp_path: Path,
) -> None:
    sim = fast_simulator(faults=Faults(lost_answer=LostAnswer.SERVER_ERROR))
    output = tmp_path / "out"
    manifest = manifest_of(tmp_path, "a city wakes up [sim:lost]")

    # The run stops the moment the answer is lost, before it could look in the task list.
    first = run(manifest, output, sim, stop=StopAt(at(SubmitAmbiguous)))
    assert first is None
    assert sim.stats().faults.get("lost_create") == 1  # its task was made all the same
    lost_take = next(
        e["entry"]
        for e in read_events(output / "batch" / "events.jsonl")
        if e["event"] == "submit_ambiguous"
    )

    second = run(manifest, output, sim)

    assert second is not None and second.all_done
    lines = read_events(output / "batch" / "events.jsonl")
    adopted = [e for e in lines if e["event"] == "reconciled" and e["verdict"] == "adopted"]
    assert [e["entry"] for e in adopted] == [lost_take]
    assert sim.stats().creates == 4, "a take was paid for twice"
    assert len(set(tasks_of(output).values())) == 4
