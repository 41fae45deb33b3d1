"""The promises of a run's shape (kling_batch/runner/run.py), through `run_manifest` against the
in-process simulator: the concurrency bound, the output's lock, Ctrl-C and SIGTERM, the preflight
and epilogue hooks, and tasks in flight resumed before new work.

Time is stopped (`StoppedTime`): polls wake and renders end only when a test moves the runner's
clock and the simulator's on, so each test catches the run exactly where it says.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from kling_batch.manifest.model import Manifest
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.clock import Clock
from kling_batch.runner.lock import RunLock, StateLocked
from kling_batch.runner.options import RunOptions, RunSummary, SelectionError
from kling_batch.runner.records import EntryState
from kling_batch.runner.run import Epilogue, Preflight, run_manifest
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import World
from kling_batch.simulator import Simulator
from tests.conftest import (
    StoppedTime,
    count_events,
    fast_simulator,
    in_process,
    read_events,
    until_logged,
    write_manifest,
)

RENDER = 10.0  # simulated seconds each render takes
POLL = 1.0  # the shortest gap between two polls of a task


def shots(count: int) -> str:
    lines = "\n".join(f"      - {{id: s{n}, prompt: 'scene {n}'}}" for n in range(count))
    return f"""
    version: 1
    name: batch
    defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
    shots:
{lines}
    """


@dataclass
class Bench:
    """A manifest, an output, a simulator and stopped time, made inside the test's loop."""

    manifest: Manifest
    output: Path
    simulator: Simulator
    time: StoppedTime
    runs: list[RunSummary] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.output / self.manifest.name

    @property
    def log(self) -> Path:
        return self.folder / "events.jsonl"

    async def run(
        self,
        *,
        handle_signals: bool = False,
        preflight: Preflight | None = None,
        epilogue: Epilogue | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> RunSummary:
        run_options = RunOptions(poll_interval=POLL, handle_signals=handle_signals, **options)
        summary = await run_manifest(
            self.manifest,
            in_process(self.simulator),
            self.output,
            run_options,
            preflight=preflight,
            epilogue=epilogue,
            clock=clock or self.time.clock,
        )
        self.runs.append(summary)
        return summary

    def states(self) -> dict[str, EntryState | None]:
        store = StateStore(self.folder / "state.sqlite3", readonly=True)
        try:
            return {
                e.id: (r.state if (r := store.get(e.id)) else None) for e in self.manifest.entries
            }
        finally:
            store.close()


def bench(tmp_path: Path, entries: int, **config: Any) -> Bench:
    simulator = fast_simulator(**StoppedTime.frozen(render_seconds=RENDER, **config))
    manifest = write_manifest(tmp_path, shots(entries))
    return Bench(manifest, tmp_path / "out", simulator, StoppedTime(simulator))


def in_flight(log: Path) -> int:
    """Entries between their create and the poll that saw their render end."""
    return count_events(log, "submit") - count_events(log, "poll", status="SUCCEEDED")


@pytest.mark.anyio
async def test_never_more_entries_in_flight_than_the_concurrency_bound(tmp_path: Path) -> None:
    runs = bench(tmp_path, 5)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(concurrency=2))
        # Each time step ends two renders; two more entries take their slots, until none is left.
        for step, (done, sent) in enumerate([(0, 2), (2, 4), (4, 5)]):
            await until_logged(runs.log, "entry_done", done)
            await until_logged(runs.log, "submitted", sent)
            await anyio.wait_all_tasks_blocked()  # nothing moves until time does
            assert count_events(runs.log, "submit") == sent, f"step {step}"
            assert in_flight(runs.log) == min(2, 5 - done), f"step {step}"
            await runs.time.advance(RENDER)

    (summary,) = runs.runs
    assert summary.all_done
    assert runs.simulator.stats().creates == 5
    assert runs.simulator.stats().peak_running == 2
    # The run measured itself with the clock it was given: three steps of stopped time.
    assert summary.elapsed == runs.time.moved == 3 * RENDER


@pytest.mark.anyio
async def test_a_second_run_on_an_output_in_use_is_refused_and_sends_nothing(
    tmp_path: Path,
) -> None:
    runs = bench(tmp_path, 2)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run())
        await until_logged(runs.log, "submitted", 2)

        with pytest.raises(StateLocked, match="in use"):
            await runs.run()

        assert runs.simulator.stats().creates == 2
        assert count_events(runs.log, "run_started") == 1
        await runs.time.advance(RENDER)
    (summary,) = runs.runs
    assert summary.all_done  # the first run was not disturbed


@pytest.mark.anyio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_stops_the_run_keeps_its_tasks_and_says_interrupted(
    tmp_path: Path, signum: signal.Signals
) -> None:
    runs = bench(tmp_path, 4)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(handle_signals=True, concurrency=3))
        await until_logged(runs.log, "submitted", 3)
        os.kill(os.getpid(), signum)

    (summary,) = runs.runs
    assert summary.interrupted and summary.fatal is None
    assert summary.count(EntryState.IN_FLIGHT) == 3
    assert summary.states["s3"] is None  # never reached: the stop came first
    assert runs.states() == summary.states  # what the summary says is what the store keeps
    (interrupted,) = [e for e in read_events(runs.log) if e["event"] == "interrupted"]
    assert interrupted["signal"] == signum.name
    finished = read_events(runs.log)[-1]
    assert finished["event"] == "run_finished"
    assert finished["interrupted"] is True and finished["unfinished"] == 4

    # The renders end meanwhile; the next run downloads them and sends only the one left.
    await runs.time.advance(RENDER)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(concurrency=3))
        await until_logged(runs.log, "entry_done", 3)
        await until_logged(runs.log, "submitted", 4)
        await runs.time.advance(RENDER)
    assert runs.runs[-1].all_done
    assert runs.simulator.stats().creates == 4


@pytest.mark.anyio
async def test_a_second_signal_stops_waiting_for_a_create_on_the_wire(tmp_path: Path) -> None:
    simulator = fast_simulator(hang_seconds=60.0)
    manifest = write_manifest(
        tmp_path,
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: stuck, prompt: "a create whose answer never comes [sim:lost]"}
        """,
    )
    runs = Bench(manifest, tmp_path / "out", simulator, StoppedTime(simulator))
    with anyio.fail_after(10):  # far less than the 30 s a stopped run gives a create
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: runs.run(handle_signals=True))
            await until_logged(runs.log, "submit")
            await anyio.wait_all_tasks_blocked()
            assert simulator.stats().creates == 1  # the create arrived; its answer hangs

            os.kill(os.getpid(), signal.SIGINT)
            await until_logged(runs.log, "interrupted")
            await anyio.wait_all_tasks_blocked()
            assert count_events(runs.log, "run_finished") == 0  # waiting for that answer

            os.kill(os.getpid(), signal.SIGINT)  # "it's stuck": the user presses Ctrl-C again

    (summary,) = runs.runs
    assert summary.interrupted
    assert summary.states == {"stuck": EntryState.SUBMITTING}  # settled by the next run
    assert count_events(runs.log, "interrupted") == 2
    (ambiguous,) = [e for e in read_events(runs.log) if e["event"] == "submit_ambiguous"]
    assert "before the run stopped" in ambiguous["reason"]


class Refused(Exception):
    pass


@pytest.mark.anyio
async def test_a_preflight_that_refuses_sends_nothing_and_runs_no_epilogue(
    tmp_path: Path,
) -> None:
    runs = bench(tmp_path, 2)
    asked: list[tuple[World | None, World]] = []
    epilogues: list[str] = []

    def refuse(store: StateStore, layout: OutputLayout, world: World) -> None:
        asked.append((store.world(), world))
        raise Refused

    with pytest.raises(Refused):
        await runs.run(preflight=refuse, epilogue=lambda store, layout: epilogues.append("ran"))

    assert sum(runs.simulator.stats().requests.values()) == 0
    assert not runs.log.exists()
    assert epilogues == []
    # The preflight was asked with the output already bound to the run's service.
    ((recorded, world),) = asked
    assert recorded == world and world.simulated
    # ... and the refused run let go of the output.
    RunLock(runs.folder).acquire()


@dataclass
class Epilogues:
    """What each epilogue saw: the entries' states, and whether the output was still locked."""

    seen: list[tuple[dict[str, EntryState | None], bool]] = field(default_factory=list)

    def __call__(self, store: StateStore, layout: OutputLayout) -> None:
        try:
            RunLock(layout.folder).acquire()
        except StateLocked:
            locked = True
        else:
            locked = False
        states = {r.entry_id: r.state for r in store.all()}
        self.seen.append((states, locked))


@pytest.mark.anyio
@pytest.mark.parametrize("ending", ["finished", "interrupted", "cancelled"])
async def test_the_epilogue_runs_inside_the_lock_however_the_run_ends(
    tmp_path: Path, ending: str
) -> None:
    runs = bench(tmp_path, 1)
    epilogue = Epilogues()
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(handle_signals=True, epilogue=epilogue))
        await until_logged(runs.log, "submitted")
        if ending == "finished":
            await runs.time.advance(RENDER)
        elif ending == "interrupted":
            os.kill(os.getpid(), signal.SIGINT)
        else:  # the caller gives up on the run (its own scope is cancelled)
            group.cancel_scope.cancel()

    expected = EntryState.DONE if ending == "finished" else EntryState.IN_FLIGHT
    assert epilogue.seen == [({"s0": expected}, True)]
    assert len(runs.runs) == (0 if ending == "cancelled" else 1)


@pytest.mark.anyio
async def test_tasks_in_flight_are_resumed_before_new_work_is_sent(tmp_path: Path) -> None:
    runs = bench(tmp_path, 3)
    # A first run leaves s2's task in flight.
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(only=("s2",)))
        await until_logged(runs.log, "submitted")
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: runs.run(concurrency=1))
        await until_logged(runs.log, "run_started", 2)
        await anyio.wait_all_tasks_blocked()
        # s2 holds the one slot; s0 and s1, first in the manifest, wait for it.
        assert count_events(runs.log, "submit") == 1
        assert runs.simulator.stats().creates == 1
        for done in (1, 2, 3):
            await runs.time.advance(RENDER)
            await until_logged(runs.log, "entry_done", done)
    assert runs.runs[-1].all_done
    finished = [e["entry"] for e in read_events(runs.log) if e["event"] == "entry_done"]
    assert finished == ["s2", "s0", "s1"]


@pytest.mark.anyio
async def test_an_account_error_stops_every_entry_and_is_the_runs_fatal(tmp_path: Path) -> None:
    runs = bench(tmp_path, 3, api_key="sk-another-account-0000000000")
    summary = await runs.run(concurrency=1)

    assert summary.fatal is not None and "InvalidApiKey" in summary.fatal
    assert runs.simulator.stats().requests == {"create": 1}  # the others were never sent
    finished = read_events(runs.log)[-1]
    assert finished["event"] == "run_finished" and finished["fatal"] == summary.fatal


@pytest.mark.anyio
async def test_an_only_that_matches_nothing_is_refused_before_the_output_is_touched(
    tmp_path: Path,
) -> None:
    runs = bench(tmp_path, 2)
    with pytest.raises(SelectionError, match="nope-"):
        await runs.run(only=("nope-*",))
    assert not runs.output.exists()
