"""The state can be trusted whatever the service's undocumented details (spec §4, §5, §6).

Every reading the public docs leave open gets a simulator mode (the zone of the task list's
filter, what `orig_prompt` holds for a storyboard without a prompt); lost creates and SIGKILLs
must pay for nothing twice under each, and outputs stay bound to the service they came from.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from kling_batch.simulator import Faults, ListZone, LostAnswer, StoryboardEcho
from tests.conftest import count_events

from .conftest import Sim, Workspace, create_elsewhere, wait_for_events
from .test_run import assert_verified, run_args

MODES = [(zone, echo) for zone in ListZone for echo in StoryboardEcho]


def campaign(workspace: Workspace, shots: int, storyboards: int) -> Path:
    """Shots with their own prompts, and customize storyboards: no top-level prompt, so that
    under some echo modes their tasks cannot be told apart by the list."""
    lines = ["version: 1", "name: batch", 'defaults: {mode: std, aspect_ratio: "16:9"}', "shots:"]
    lines += [f"  - {{id: shot-{n:02d}, prompt: 'scene {n}', duration: 3}}" for n in range(shots)]
    lines.append("storyboards:")
    for n in range(storyboards):
        lines += [
            f"  - id: board-{n:02d}",
            "    shot_type: customize",
            "    multi_prompt:",
            f"      - {{prompt: 'board {n} opens', duration: 2}}",
            f"      - {{prompt: 'board {n} closes', duration: 2}}",
        ]
    return workspace.manifest("\n".join(lines) + "\n")


def converge(sim: Sim, workspace: Workspace, manifest: Path, runs: int = 3) -> list[int]:
    """Run until exit 0, at most `runs` times (the first run and two reruns)."""
    codes: list[int] = []
    for _ in range(runs):
        done = workspace.run(sim, *run_args(manifest, workspace), timeout=180)
        codes.append(done.returncode)
        if done.returncode == 0:
            break
    assert codes[-1] == 0, (codes, done.stdout[-2000:], done.stderr[-3000:])
    return codes


def assert_paid_once_and_verified(sim: Sim, workspace: Workspace, entries: int) -> None:
    stats = sim.simulator.stats()
    assert stats.duplicate_creates == 0, stats.creates_by_body
    assert stats.creates == entries
    results = workspace.results()
    assert len(results) == entries
    for entry_id, row in results.items():
        assert row["status"] == "done", (entry_id, row)
        assert_verified(workspace, entry_id, row)


@pytest.mark.parametrize(("zone", "echo"), MODES, ids=[f"{z}-{e}" for z, e in MODES])
@pytest.mark.parametrize("lost", [0.05, 0.3], ids=["lost5", "lost30"])
def test_lost_creates_pay_once_under_every_reading_of_the_docs(
    start_simulator, workspace: Workspace, zone: ListZone, echo: StoryboardEcho, lost: float
) -> None:
    sim: Sim = start_simulator(
        seed=11,
        list_zone=zone,
        storyboard_echo=echo,
        faults=Faults(lost_create=lost, lost_answer=LostAnswer.RESET),
    )
    manifest = campaign(workspace, shots=16, storyboards=4)

    converge(sim, workspace, manifest)

    assert_paid_once_and_verified(sim, workspace, 20)
    assert sim.simulator.stats().faults.get("lost_create", 0) > 0


SIGKILL_MODES = [
    (ListZone.BEIJING, StoryboardEcho.ABSENT),
    (ListZone.UTC, StoryboardEcho.EMPTY),
    (ListZone.UTC, StoryboardEcho.FIRST_SHOT),
]


# Where each of the eight runs is killed: after its n-th line of an event in events.jsonl. Sends
# first, while most entries are still to be sent; then polls and downloads of what is in flight.
SIGKILL_POINTS = [
    ("submit", 1),
    ("submitted", 1),
    ("submit", 2),
    ("poll", 1),
    ("submitted", 2),
    ("download", 1),
    ("poll", 2),
    ("download", 2),
]


@pytest.mark.parametrize(
    ("zone", "echo"), SIGKILL_MODES, ids=[f"{z}-{e}" for z, e in SIGKILL_MODES]
)
def test_eight_sigkills_with_lost_creates_pay_once(
    start_simulator, workspace: Workspace, zone: ListZone, echo: StoryboardEcho
) -> None:
    sim: Sim = start_simulator(
        seed=5,
        render_seconds=0.8,
        list_zone=zone,
        storyboard_echo=echo,
        faults=Faults(lost_create=0.1, lost_answer=LostAnswer.RESET),
    )
    manifest = campaign(workspace, shots=14, storyboards=4)
    events = workspace.folder() / "events.jsonl"
    for event, nth in SIGKILL_POINTS:
        before = count_events(events, event)
        process = workspace.start(sim, *run_args(manifest, workspace, "--concurrency", "5"))
        wait_for_events(events, event, before + nth, process)
        process.kill()
        process.communicate(timeout=30)
    assert count_events(events, "run_started") == len(SIGKILL_POINTS)

    converge(sim, workspace, manifest)

    assert_paid_once_and_verified(sim, workspace, 18)


# -- an output belongs to one service and one account -------------------------------------


SMALL = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: calm, prompt: a calm sea}
      - {id: storm, prompt: a storm at night}
"""


def test_a_real_run_after_the_quick_start_is_refused_and_sends_nothing(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    simulated = workspace.run(None, *run_args(manifest, workspace, "--simulate"))
    assert simulated.returncode == 0, simulated.stderr

    real = workspace.run(sim, *run_args(manifest, workspace))
    refresh = workspace.run(
        sim, "plan", str(manifest), "--output", str(workspace.output), "--refresh"
    )
    audit = workspace.run(sim, "audit", str(manifest), "--output", str(workspace.output))

    for refused in (real, audit):
        assert refused.returncode == 2, refused.stderr
        assert "built-in simulator (--simulate)" in refused.stderr
        assert sim.base_url in refused.stderr
        assert "--output" in refused.stderr and "Traceback" not in refused.stderr
    assert refresh.returncode == 0  # nothing in flight: nothing to ask, nothing refused
    assert sum(sim.simulator.stats().requests.values()) == 0
    status = workspace.run(None, "status", str(manifest), "--output", str(workspace.output))
    assert "SIMULATED" in status.stderr and "simulated clips" in status.stderr
    plan = workspace.run(None, "plan", str(manifest), "--output", str(workspace.output))
    assert "SIMULATED" in plan.stdout
    report = (workspace.folder() / "report.html").read_text()
    assert report.count('class="badge simulated"') == 2
    # The simulated output still resumes as a simulated one.
    again = workspace.run(None, *run_args(manifest, workspace, "--simulate"))
    assert again.returncode == 0, again.stderr


def test_another_account_or_service_does_not_take_an_outputs_records(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    other: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    before = sum(sim.simulator.stats().requests.values())

    other_service = workspace.run(other, *run_args(manifest, workspace))
    env = workspace.env(sim) | {"DASHSCOPE_API_KEY": "sk-someone-else-9876543210"}
    import subprocess

    other_account = subprocess.run(
        workspace.command(*run_args(manifest, workspace)),
        env=env,
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert other_service.returncode == 2 and other.base_url in other_service.stderr
    assert other_account.returncode == 2 and "account" in other_account.stderr
    assert "sk-someone-else" not in other_account.stderr
    assert sum(other.simulator.stats().requests.values()) == 0
    assert sum(sim.simulator.stats().requests.values()) == before
    # The key itself is never written down: only its one-way fingerprint.
    state = (workspace.folder() / "state.sqlite3").read_bytes()
    assert b"sk-test-e2e" not in state


def test_an_output_from_before_worlds_were_recorded_says_so_and_is_kept_simulated(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    # Make it look like a store of the previous version: no world recorded.
    with sqlite3.connect(workspace.folder() / "state.sqlite3") as db:
        db.execute("DELETE FROM world")

    real = workspace.run(
        sim, *run_args(manifest, workspace), "--base-url", "https://dashscope.test/api/v1"
    )
    status = workspace.run(None, "status", str(manifest), "--output", str(workspace.output))

    # Its videos came from loopback: a simulator, so a real service must not take them.
    assert real.returncode == 2, real.stderr
    assert "a simulator" in real.stderr
    assert "SIMULATED" in status.stderr


def test_an_output_folder_that_cannot_be_made_is_a_clear_error(workspace: Workspace) -> None:
    manifest = workspace.manifest(SMALL)
    blocker = workspace.root / "a-file"
    blocker.write_text("not a folder")

    for output in (blocker / "out", Path("/proc/kling-batch-out")):
        done = workspace.run(None, "run", str(manifest), "--simulate", "--output", str(output))

        assert done.returncode == 2, done.stderr
        assert "cannot write the output folder" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


# -- audit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", list(ListZone))
def test_audit_lists_exactly_the_unclaimed_tasks(
    start_simulator, workspace: Workspace, zone: ListZone
) -> None:
    sim: Sim = start_simulator(list_zone=zone)
    manifest = workspace.manifest(SMALL)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    look_alike = create_elsewhere(sim, "a calm sea")
    stranger = create_elsewhere(sim, "a mountain road")
    sim.simulator.advance(1.0)  # they have rendered
    creates = sim.simulator.stats().creates

    audit = workspace.run(sim, "audit", str(manifest), "--output", str(workspace.output), "--json")

    assert audit.returncode == 0, audit.stderr
    rows = {row["task_id"]: row for row in json.loads(audit.stdout)}
    assert set(rows) == {look_alike, stranger}
    assert rows[look_alike]["resembles"] == ["calm"]
    assert rows[stranger]["resembles"] == []
    assert rows[look_alike]["status"] == "SUCCEEDED"
    assert rows[look_alike]["billed_seconds"] == 3 and rows[look_alike]["cost"] == 1.8
    assert rows[look_alike]["created"].endswith("Z")
    assert sim.simulator.stats().creates == creates  # audit never creates


def test_audit_prices_a_task_at_its_own_models_prices(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL.replace("{id: storm,", "{id: storm, model: turbo,"))
    turbo = create_elsewhere(sim, "a storm at night", model="kling/kling-v3-turbo-video-generation")
    standard = create_elsewhere(sim, "a calm sea")
    sim.simulator.advance(1.0)

    audit = workspace.run(sim, "audit", str(manifest), "--output", str(workspace.output), "--json")

    assert audit.returncode == 0, audit.stderr
    rows = {row["task_id"]: row for row in json.loads(audit.stdout)}
    # 3 s of std: turbo always renders sound, at 0.8 CNY a second (models.json); the standard
    # model's silent std second is 0.6 (prices.json).
    assert (rows[turbo]["billed_seconds"], rows[turbo]["cost"]) == (3, 2.4)
    assert (rows[standard]["billed_seconds"], rows[standard]["cost"]) == (3, 1.8)


def test_audit_adopt_hands_a_leftover_task_to_its_entry_instead_of_paying_again(
    start_simulator, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(SMALL)
    leftover = create_elsewhere(sim, "a storm at night")

    adopted = workspace.run(
        sim, "audit", str(manifest), "--output", str(workspace.output), "--adopt", "--json"
    )
    done = workspace.run(sim, *run_args(manifest, workspace))

    assert adopted.returncode == 0, adopted.stderr
    (row,) = json.loads(adopted.stdout)
    assert (row["task_id"], row["adopted_by"]) == (leftover, "storm")
    assert done.returncode == 0, done.stderr
    assert workspace.results()["storm"]["task_id"] == leftover
    assert sim.simulator.stats().creates == 2  # the leftover, and calm's own


def test_a_resumed_simulated_run_does_not_report_its_vanished_tasks_as_failures(
    workspace: Workspace,
) -> None:
    manifest = workspace.manifest(SMALL)
    args = ["run", str(manifest), "--simulate", "--simulate-render-seconds", "3", "--output"]
    process = workspace.start(None, *args, str(workspace.output))
    from .conftest import interrupt, wait_for_file_line

    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')
    assert interrupt(process, signal.SIGTERM) == 130

    resumed = workspace.run(None, *args, str(workspace.output), "--poll-interval", "0.2")

    assert resumed.returncode == 0, resumed.stderr
    assert "entry_failed" not in resumed.stderr and "TaskNotFound" not in resumed.stderr
    assert "simulator started afresh" in resumed.stderr
