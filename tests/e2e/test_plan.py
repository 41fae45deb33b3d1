"""`kling-batch plan` and `status` against outputs written by real runs on the simulator."""

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
      - {id: calm, prompt: a calm sea}
      - {id: storm, prompt: a storm at night, audio: true}
      - {id: bad, prompt: "a riot [sim:moderation]"}
"""


def run_args(manifest: Path, workspace: Workspace, *extra: str) -> list[str]:
    out = str(workspace.output)
    return ["run", str(manifest), "--output", out, "--poll-interval", "0.1", *extra]


def plan_args(manifest: Path, workspace: Workspace, *extra: str) -> list[str]:
    return ["plan", str(manifest), "--output", str(workspace.output), *extra]


def total_requests(sim: Sim) -> int:
    return sum(sim.simulator.stats().requests.values())


def test_plan_before_any_run_prices_every_entry_and_touches_nothing(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH)

    shown = workspace.run(sim, *plan_args(manifest, workspace))

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split()[:2] == ["calm", "submit"] for line in lines), shown.stdout
    assert "3 renders to send, 9 s, estimated 6.30 CNY" in shown.stdout
    assert "prices: CNY per second" in shown.stdout and "as of" in shown.stdout
    assert not workspace.output.exists()
    assert total_requests(sim) == 0


def test_plan_after_a_run_says_what_changed_failed_and_is_done(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 1
    manifest.write_text(manifest.read_text().replace("a calm sea", "a calmer sea"))
    before = total_requests(sim)

    shown = workspace.run(sim, *plan_args(manifest, workspace))
    as_json = workspace.run(sim, *plan_args(manifest, workspace, "--json", "--retry-failed"))

    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line for line in shown.stdout.splitlines()[3:6]}
    assert rows["calm"].split()[1] == "re-render" and "changed: prompt" in rows["calm"]
    assert rows["storm"].split()[1] == "skip"
    assert rows["bad"].split()[1] == "failed" and "--retry-failed" in rows["bad"]
    assert "already billed: 6 s, 4.50 CNY" in shown.stdout
    plan = json.loads(as_json.stdout)
    actions = {row["id"]: row["action"] for row in plan["entries"]}
    assert actions == {"calm": "re-render", "storm": "skip", "bad": "retry"}
    assert plan["totals"]["renders"] == 2
    assert plan["totals"]["estimated_cost"] == 3.6
    assert total_requests(sim) == before, "plan reached the service"


def test_plan_refresh_asks_about_tasks_in_flight_and_nothing_else(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator(render_seconds=2.0)
    manifest = workspace.manifest(BATCH.replace("[sim:moderation]", "[sim:slow]"))
    running = workspace.start(sim, *run_args(manifest, workspace))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')
    assert interrupt(running, signal.SIGINT) == 130
    in_flight = json.loads(workspace.run(sim, *plan_args(manifest, workspace, "--json")).stdout)
    polled = [row["id"] for row in in_flight["entries"] if row["action"] == "poll"]
    assert polled
    creates = sim.simulator.stats().creates
    sim.simulator.advance(60)

    shown = workspace.run(sim, *plan_args(manifest, workspace, "--refresh", "--json"))

    assert shown.returncode == 0, shown.stderr
    assert all(f"refreshed {entry_id}: task" in shown.stderr for entry_id in polled)
    after = {row["id"]: row["action"] for row in json.loads(shown.stdout)["entries"]}
    assert all(after[entry_id] == "download" for entry_id in polled), after
    stats = sim.simulator.stats()
    assert stats.creates == creates and stats.requests.get("cancel", 0) == 0


def test_status_puts_the_estimate_beside_what_was_billed(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH)
    workspace.run(sim, *run_args(manifest, workspace))
    prices = workspace.root / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "currency": "CNY",
                "source": "test",
                "per_second": {"std": {"silent": 1, "audio": 2}, "pro": {"silent": 3, "audio": 4}},
            }
        )
    )
    status = ["status", str(manifest), "--output", str(workspace.output)]

    table = workspace.run(None, *status)
    rows = workspace.run(None, *status, "--json", "--prices", str(prices))

    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header[:3] == ["ENTRY", "STATE", "TASK"] and "BILLED" in header and "COST" in header
    assert "billed so far: 4.50 CNY" in table.stdout
    by_id = {row["id"]: row for row in map(json.loads, rows.stdout.splitlines())}
    assert by_id["storm"]["estimated_seconds"] == 3 and by_id["storm"]["billed_seconds"] == 3
    assert by_id["storm"]["estimated_cost"] == 6 and by_id["storm"]["cost"] == 6
    assert by_id["bad"]["billed_seconds"] is None


def test_a_bad_prices_file_is_invalid_input(start_simulator, workspace: Workspace) -> None:
    manifest = workspace.manifest(BATCH)
    broken = workspace.root / "prices.json"
    broken.write_text('{"currency": "CNY"}')

    shown = workspace.run(None, *plan_args(manifest, workspace, "--prices", str(broken)))

    assert shown.returncode == 2
    assert "prices file" in shown.stderr
