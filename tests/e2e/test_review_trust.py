"""Review of the trust work (spec §4-§6) through the CLI, against the loopback simulator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kling_batch.simulator import Faults, LostAnswer

from .conftest import TEST_KEY, Sim, Workspace, create_elsewhere, wait_until
from .test_run import run_args
from .test_trust import SMALL


def test_audit_adopt_never_hands_a_render_of_another_body(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    other = create_elsewhere(sim, "a storm at night", duration=5)  # the entry asks 3 s
    sim.simulator.advance(1.0)  # it has rendered: its usage says 5 s

    adopted = workspace.run(
        sim, "audit", str(manifest), "--output", str(workspace.output), "--adopt", "--json"
    )
    assert adopted.returncode == 0, adopted.stderr
    (row,) = json.loads(adopted.stdout)
    assert row["task_id"] == other and row["billed_seconds"] == 5
    done = workspace.run(sim, *run_args(manifest, workspace))
    assert done.returncode == 0, done.stderr

    storm = workspace.results()["storm"]
    assert row["adopted_by"] is None, "a 5 s render was adopted by a 3 s entry"
    assert storm["task_id"] != other


def test_base_url_spelling_does_not_change_the_world(start_simulator, workspace: Workspace):
    """Trailing slash, case of scheme and host, and an explicit default port are one service."""
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    before = sim.simulator.stats().creates
    host_port = sim.base_url.removeprefix("http://").split("/", 1)[0]
    spellings = [
        sim.base_url + "/",
        sim.base_url.replace("http://", "HTTP://") + "//",
    ]
    for spelling in spellings:
        again = workspace.run(sim, *run_args(manifest, workspace), "--base-url", spelling)
        assert again.returncode == 0, (spelling, again.stderr)
    # Another host spelling is another service as far as the output can know: refused.
    other = sim.base_url.replace(host_port.split(":")[0], "localhost")
    refused = workspace.run(sim, *run_args(manifest, workspace), "--base-url", other)
    assert refused.returncode == 2, refused.stderr
    assert sim.simulator.stats().creates == before


def _every_file_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_the_key_is_written_nowhere_through_lost_creates_failures_and_refusals(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator(
        seed=3,
        faults=Faults(lost_create=0.5, lost_answer=LostAnswer.SERVER_ERROR, server_error=0.2),
    )
    manifest = workspace.manifest(
        SMALL.replace("a calm sea", "a calm sea [sim:fail]")
        + "      - {id: third, prompt: 'a third one [sim:lost-reset]'}\n"
    )
    outputs = [workspace.run(sim, *run_args(manifest, workspace)) for _ in range(2)]
    outputs.append(workspace.run(sim, "audit", str(manifest), "--output", str(workspace.output)))
    outputs.append(workspace.run(sim, "status", str(manifest), "--output", str(workspace.output)))
    # Another account on the same output: refused, and the refusal names no key.
    env = workspace.env(sim) | {"DASHSCOPE_API_KEY": "sk-another-account-abcdef0123"}
    outputs.append(
        subprocess.run(
            workspace.command(*run_args(manifest, workspace)),
            env=env,
            cwd=workspace.root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    assert outputs[-1].returncode == 2
    for done in outputs:
        assert TEST_KEY not in done.stdout + done.stderr
        assert "sk-another-account" not in done.stdout + done.stderr
    for path in _every_file_under(workspace.output):
        data = path.read_bytes()
        assert TEST_KEY.encode() not in data, path
        assert b"sk-another-account" not in data, path


BOARDS = """
    version: 1
    name: batch
    defaults: {mode: std, aspect_ratio: "16:9"}
    storyboards:
      - id: b1
        shot_type: customize
        multi_prompt:
          - {prompt: "a board opens", duration: 2}
          - {prompt: "and closes [sim:lost]", duration: 2}
      - id: b2
        shot_type: customize
        multi_prompt:
          - {prompt: "a board opens", duration: 2}
          - {prompt: "and goes on [sim:lost-reset]", duration: 3}
"""


def test_look_alike_storyboards_left_unsettled_by_a_kill_and_only_converge(
    start_simulator, workspace: Workspace
) -> None:
    from kling_batch.simulator import StoryboardEcho

    sim: Sim = start_simulator(
        storyboard_echo=StoryboardEcho.FIRST_SHOT, hang_seconds=30, render_seconds=0.3
    )
    manifest = workspace.manifest(BOARDS)
    # b1's create is made, its answer hangs; kill -9 then.
    process = workspace.start(sim, *run_args(manifest, workspace, "--only", "b1"))
    wait_until(lambda: sim.simulator.stats().creates == 1, "b1's create to arrive", process)
    process.kill()
    process.communicate(timeout=30)
    assert sim.simulator.stats().creates == 1

    # b2 alone: its create is made and the connection reset.
    workspace.run(sim, *run_args(manifest, workspace, "--only", "b2"))
    assert sim.simulator.stats().creates == 2

    codes = [workspace.run(sim, *run_args(manifest, workspace)).returncode for _ in range(2)]
    print("reruns:", codes, workspace.results())
    assert sim.simulator.stats().creates == 2  # never paid twice (holds today)
    assert codes[-1] == 0
    results = workspace.results()
    assert {results["b1"]["status"], results["b2"]["status"]} == {"done"}
