"""`kling-batch cancel`: stop what still waits in DashScope's queue, and say what could not be."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from .conftest import Sim, Workspace, interrupt, wait_for_file_line

BATCH = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: one, prompt: the first scene}
      - {id: two, prompt: the second scene}
      - {id: three, prompt: the third scene}
"""


def run_args(manifest: Path, workspace: Workspace) -> list[str]:
    out = str(workspace.output)
    return ["run", str(manifest), "--output", out, "--poll-interval", "0.1"]


def cancel_args(manifest: Path, workspace: Workspace, *extra: str) -> list[str]:
    return ["cancel", str(manifest), "--output", str(workspace.output), *extra]


def submitted_then_stopped(sim: Sim, workspace: Workspace, manifest: Path) -> None:
    """A run that queued three tasks on a one-slot account, then was stopped with Ctrl-C."""
    running = workspace.start(sim, *run_args(manifest, workspace))
    events = workspace.folder() / "events.jsonl"
    for entry_id in ("one", "two", "three"):
        wait_for_file_line(events, f'"entry": "{entry_id}", "event": "submitted"')
    assert interrupt(running, signal.SIGINT) == 130


def test_cancel_stops_pending_tasks_and_reports_the_running_one(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator(slots=1, render_seconds=30)
    manifest = workspace.manifest(BATCH)
    submitted_then_stopped(sim, workspace, manifest)

    done = workspace.run(sim, *cancel_args(manifest, workspace))
    again = workspace.run(sim, *cancel_args(manifest, workspace, "--json"))
    status = workspace.run(sim, "status", str(manifest), "--output", str(workspace.output))

    assert done.returncode == 1, done.stderr
    assert "2 canceled, 1 not" in done.stdout
    assert "can no longer be canceled: it is RUNNING" in done.stdout
    assert sim.simulator.stats().cancels == 2
    # only the running task is left to try, and it still cannot be canceled
    assert again.returncode == 1
    (left,) = map(json.loads, again.stdout.splitlines())
    assert (left["outcome"], left["task_status"]) == ("too-late", "RUNNING")
    assert sim.simulator.stats().cancels == 2
    states = [line.split()[1] for line in status.stdout.splitlines()[1:4]]
    assert sorted(states) == ["canceled", "canceled", "in_flight"]


def test_cancel_only_one_entry(start_simulator, workspace: Workspace) -> None:
    sim: Sim = start_simulator(slots=1, render_seconds=30)
    manifest = workspace.manifest(BATCH)
    submitted_then_stopped(sim, workspace, manifest)
    pending = [
        row["id"]
        for row in map(json.loads, (workspace.folder() / "results.jsonl").read_text().splitlines())
        if sim.simulator.task_status(row["task_id"]) == "PENDING"
    ]

    done = workspace.run(sim, *cancel_args(manifest, workspace, "--only", pending[0], "--json"))

    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [pending[0]]
    assert sim.simulator.stats().cancels == 1


def test_cancel_with_nothing_in_flight_is_a_quiet_success(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH)

    before = workspace.run(sim, *cancel_args(manifest, workspace))
    workspace.run(sim, *run_args(manifest, workspace))
    after = workspace.run(sim, *cancel_args(manifest, workspace))

    assert before.returncode == after.returncode == 0
    assert "nothing to cancel" in before.stdout and "nothing to cancel" in after.stdout
    assert not sim.simulator.stats().requests.get("cancel")


def test_cancel_beside_a_running_run_is_refused(start_simulator, workspace: Workspace) -> None:
    sim: Sim = start_simulator(slots=1, render_seconds=30)
    manifest = workspace.manifest(BATCH)
    running = workspace.start(sim, *run_args(manifest, workspace))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')

    refused = workspace.run(sim, *cancel_args(manifest, workspace))

    assert interrupt(running, signal.SIGINT) == 130
    assert refused.returncode == 3
    assert "in use" in refused.stderr
    assert sim.simulator.stats().cancels == 0
