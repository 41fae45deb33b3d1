"""`cancel` and `plan --refresh` as library calls, against tasks a real run left in flight."""

from __future__ import annotations

import json

import anyio
import pytest

from kling_batch.api import AccountError
from kling_batch.api.types import TaskStatus
from kling_batch.manifest.model import Manifest
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.decide import Action
from kling_batch.runner.events import SubmitAmbiguous, Submitted
from kling_batch.runner.lock import RunLock, StateLocked
from kling_batch.runner.records import EntryState
from kling_batch.runner.remote import (
    Cancellation,
    CancelOutcome,
    cancel_pending,
    refresh_in_flight,
    waiting,
)
from kling_batch.simulator import Faults, LostAnswer

from .conftest import Bench, MakeBench, StopAt, at

THREE = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: one, prompt: the first scene}
      - {id: two, prompt: the second scene}
      - {id: three, prompt: the third scene}
"""


def cancel_all(bench: Bench, manifest: Manifest) -> tuple[Cancellation, ...]:
    entries = list(manifest.entries)
    return anyio.run(cancel_pending, manifest, entries, bench.connection(), bench.output)


def in_flight_on_one_slot(make_bench: MakeBench) -> Bench:
    """Three tasks submitted to an account with one running slot: one RUNNING, two PENDING."""
    bench: Bench = make_bench(slots=1, render_seconds=60)
    manifest = bench.manifest(THREE)
    bench.run(manifest, stop=StopAt(at(Submitted), count=3))
    stats = bench.simulator.stats()
    assert (stats.running, stats.pending) == (1, 2)
    return bench


def test_cancel_stops_the_pending_tasks_and_reports_the_running_one(make_bench: MakeBench) -> None:
    bench = in_flight_on_one_slot(make_bench)
    manifest = bench.manifest(THREE)

    outcomes = cancel_all(bench, manifest)

    by_outcome = {o.entry_id: o.outcome for o in outcomes}
    assert sorted(by_outcome.values()) == [
        CancelOutcome.CANCELED,
        CancelOutcome.CANCELED,
        CancelOutcome.TOO_LATE,
    ]
    assert [o.entry_id for o in outcomes] == ["one", "two", "three"]
    (late,) = [o for o in outcomes if o.outcome is CancelOutcome.TOO_LATE]
    assert late.status is TaskStatus.RUNNING and "RUNNING" in late.message
    assert bench.simulator.stats().cancels == 2
    # recorded: canceled entries wait for --retry-failed, the running one is polled
    plan = bench.plan(manifest)
    for planned in plan.entries:
        if by_outcome[planned.id] is CancelOutcome.CANCELED:
            assert (planned.result.state, planned.action) == (
                EntryState.CANCELED,
                Action.LEAVE_FAILED,
            )
        else:
            assert (planned.result.state, planned.action) == (EntryState.IN_FLIGHT, Action.POLL)
    results = bench.layout(manifest).results.read_text().splitlines()
    statuses = sorted(json.loads(line)["status"] for line in results)
    assert statuses == ["canceled", "canceled", "in_flight"]
    task_json = json.loads(bench.layout(manifest).task_file(late.entry_id).read_text())
    assert task_json["output"]["task_status"] == "RUNNING"


def test_what_waits_remotely_is_read_from_the_state_alone(make_bench: MakeBench) -> None:
    bench = in_flight_on_one_slot(make_bench)
    manifest = bench.manifest(THREE)
    layout = bench.layout(manifest)
    requests = bench.simulator.stats().requests

    assert waiting(layout, manifest.entries) == ["one", "two", "three"]
    assert waiting(OutputLayout(bench.root / "never-run"), manifest.entries) == []
    assert bench.simulator.stats().requests == requests
    cancel_all(bench, manifest)
    assert len(waiting(layout, manifest.entries)) == 1  # the running one
    assert len(waiting(layout, manifest.entries, cancel=True)) == 1


def test_cancel_only_touches_the_entries_asked_for(make_bench: MakeBench) -> None:
    bench = in_flight_on_one_slot(make_bench)
    manifest = bench.manifest(THREE)
    with bench.store(manifest) as store:
        pending = [
            r.entry_id
            for r in store.all()
            if r.task_id and bench.simulator.task_status(r.task_id) == TaskStatus.PENDING
        ]
    chosen = manifest.entry(pending[0])

    outcomes = anyio.run(cancel_pending, manifest, [chosen], bench.connection(), bench.output)

    assert [(o.entry_id, o.outcome) for o in outcomes] == [(chosen.id, CancelOutcome.CANCELED)]
    assert bench.simulator.stats().pending == 1


def test_cancel_reports_an_unsettled_submission_it_cannot_cancel(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(faults=Faults(lost_answer=LostAnswer.SERVER_ERROR))
    manifest = bench.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: lost, prompt: "a lighthouse [sim:lost]"}
        """
    )
    bench.run(manifest, stop=StopAt(at(SubmitAmbiguous)))

    (outcome,) = cancel_all(bench, manifest)

    assert outcome.outcome is CancelOutcome.NO_TASK
    assert "run" in outcome.message
    assert bench.simulator.stats().cancels == 0


def test_cancel_refuses_an_output_a_run_holds(make_bench: MakeBench) -> None:
    bench = in_flight_on_one_slot(make_bench)
    manifest = bench.manifest(THREE)

    with RunLock(bench.layout(manifest).folder), pytest.raises(StateLocked):
        cancel_all(bench, manifest)

    assert bench.simulator.stats().cancels == 0


def test_an_account_error_stops_cancel_as_itself(make_bench: MakeBench) -> None:
    bench = in_flight_on_one_slot(make_bench)
    manifest = bench.manifest(THREE)
    bench.simulator.set_arrearage(True)

    with pytest.raises(AccountError, match="Arrearage"):
        cancel_all(bench, manifest)


def test_refresh_learns_what_became_of_tasks_in_flight(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=30)
    manifest = bench.manifest(THREE)
    bench.run(manifest, stop=StopAt(at(Submitted), count=3))
    assert set(p.action for p in bench.plan(manifest).entries) == {Action.POLL}
    bench.simulator.advance(60)  # the renders finish
    queried = bench.simulator.stats().requests.get("query", 0)

    refreshed = anyio.run(
        refresh_in_flight, manifest, list(manifest.entries), bench.connection(), bench.output
    )

    assert [r.status for r in refreshed] == [TaskStatus.SUCCEEDED] * 3
    assert set(p.action for p in bench.plan(manifest).entries) == {Action.DOWNLOAD}
    stats = bench.simulator.stats()
    assert stats.requests.get("query") == queried + 3 and stats.creates == 3
