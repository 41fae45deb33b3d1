"""`run --max-cost` and the manifest's `budget:`: over the limit, nothing reaches the service."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Sim, Workspace

BATCH = """
    version: 1
    name: batch
    budget: {budget}
    defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
    shots:
      - {{id: one, prompt: the first scene}}
      - {{id: two, prompt: the second scene, audio: true}}
"""  # 1.80 + 2.70 = 4.50 CNY


def run_args(manifest: Path, workspace: Workspace, *extra: str) -> list[str]:
    out = str(workspace.output)
    return ["run", str(manifest), "--output", out, "--poll-interval", "0.1", *extra]


def test_a_run_over_the_manifest_budget_is_refused_and_sends_nothing(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH.format(budget=4))

    refused = workspace.run(sim, *run_args(manifest, workspace))
    planned = workspace.run(sim, "plan", str(manifest), "--output", str(workspace.output))

    assert refused.returncode == 2
    assert "4.50 CNY" in refused.stderr and "4.00 CNY (budget: in batch.yaml)" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert sum(sim.simulator.stats().requests.values()) == 0
    assert "EXCEEDED" in planned.stdout


def test_max_cost_sets_the_limit_for_this_run(start_simulator, workspace: Workspace) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(BATCH.format(budget=4))

    too_low = workspace.run(sim, *run_args(manifest, workspace, "--max-cost", "4.49"))
    enough = workspace.run(sim, *run_args(manifest, workspace, "--max-cost", "4.50"))

    assert too_low.returncode == 2 and "(--max-cost)" in too_low.stderr
    assert enough.returncode == 0, enough.stderr
    assert sim.simulator.stats().creates == 2
    results = {
        row["id"]: row
        for row in map(json.loads, (workspace.folder() / "results.jsonl").read_text().splitlines())
    }
    assert results["two"]["estimated_cost"] == 2.7 and results["two"]["cost"] == 2.7
    assert results["two"]["estimated_seconds"] == results["two"]["billed_seconds"] == 3


def test_a_max_cost_that_is_not_an_amount_is_refused(workspace: Workspace) -> None:
    manifest = workspace.manifest(BATCH.format(budget=4))

    for bad in ("lots", "-3", "0"):
        done = workspace.run(None, *run_args(manifest, workspace, "--max-cost", bad))
        assert done.returncode == 2, (bad, done.stderr)
        assert "--max-cost" in done.stderr
