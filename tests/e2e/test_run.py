"""`kling-batch run` against the simulator over loopback: the promises of spec §4."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

from tests.conftest import count_events, make_image, read_events

from .conftest import (
    TEST_KEY,
    Sim,
    Workspace,
    interrupt,
    wait_for_events,
    wait_for_file_line,
    wait_until,
)

MIXED = """
    version: 1
    name: batch
    defaults:
      mode: std
      duration: 3
    shots:
      - id: cat
        prompt: a cat running under the moon
        aspect_ratio: "16:9"
      - id: flower
        prompt: a flower opens
        media:
          - {type: first_frame, path: start.png}
      - id: hero-ref
        model: omni
        prompt: a <<<image_1>>> running at night
        aspect_ratio: "9:16"
        media:
          - {type: refer, url: "https://example.com/cat.jpg"}
      - id: sky-edit
        model: omni
        prompt: make the sky purple
        media:
          - {type: base, url: "https://example.com/clip.mp4", keep_original_sound: true}
      - id: marked
        prompt: a lighthouse at dusk
        aspect_ratio: "1:1"
        watermark: true
    storyboards:
      - id: film
        shot_type: customize
        aspect_ratio: "9:16"
        multi_prompt:
          - {prompt: a city at dawn, duration: 2}
          - {prompt: a coffee cup, duration: 2}
      - id: barista
        shot_type: intelligence
        aspect_ratio: "16:9"
        prompt: a day in the life of a barista
"""

SIMPLE = """
    version: 1
    name: batch
    defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
    shots:
{shots}
"""


def simple_manifest(workspace: Workspace, count: int, prefix: str = "shot") -> Path:
    shots = "\n".join(
        f"      - {{id: {prefix}-{n:03d}, prompt: 'scene number {n} of {prefix}'}}"
        for n in range(count)
    )
    return workspace.manifest(SIMPLE.format(shots=shots))


def run_args(manifest: Path, workspace: Workspace, *extra: str) -> list[str]:
    return [
        "run",
        str(manifest),
        "--output",
        str(workspace.output),
        "--poll-interval",
        "0.1",
        *extra,
    ]


def assert_verified(workspace: Workspace, entry_id: str, row: dict[str, object]) -> None:
    video = workspace.folder() / entry_id / "video.mp4"
    data = video.read_bytes()
    assert data[4:8] == b"ftyp", "not an MP4"
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert not list((workspace.folder() / entry_id).glob("*.part"))


def test_mixed_manifest_runs_to_completion(start_simulator, workspace: Workspace) -> None:
    sim: Sim = start_simulator()
    make_image(workspace.root / "start.png")
    manifest = workspace.manifest(MIXED)

    done = workspace.run(sim, *run_args(manifest, workspace))

    assert done.returncode == 0, done.stderr
    results = workspace.results()
    assert set(results) == {"cat", "flower", "hero-ref", "sky-edit", "marked", "film", "barista"}
    for entry_id, row in results.items():
        assert row["status"] == "done", (entry_id, row)
        assert_verified(workspace, entry_id, row)
        folder = workspace.folder() / entry_id
        request = json.loads((folder / "request.json").read_text())
        assert request["model"].startswith("kling/kling-v3-")
        task = json.loads((folder / "task.json").read_text())
        assert task["output"]["task_status"] == "SUCCEEDED"
        assert (folder / "polls.jsonl").read_text().strip()
    # the local first frame went up as a temporary oss:// URL
    flower = json.loads((workspace.folder() / "flower" / "request.json").read_text())
    assert flower["input"]["media"][0]["url"].startswith("oss://")
    assert (workspace.folder() / "marked" / "video.watermark.mp4").exists()
    stats = sim.simulator.stats()
    assert stats.creates == 7
    assert stats.duplicate_creates == 0
    events = read_events(workspace.folder() / "events.jsonl")
    assert {e["event"] for e in events} >= {"submit", "submitted", "poll", "download", "entry_done"}
    for written in workspace.output.rglob("*"):
        if written.is_file():
            assert TEST_KEY.encode() not in written.read_bytes(), written
    assert TEST_KEY not in done.stdout + done.stderr


def test_rerun_skips_done_entries_without_network(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator()
    manifest = simple_manifest(workspace, 3)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    before = sim.simulator.stats()

    again = workspace.run(sim, *run_args(manifest, workspace))

    assert again.returncode == 0, again.stderr
    assert sim.simulator.stats().requests == before.requests


def test_changed_entry_is_rendered_again_and_old_artifacts_kept(
    start_simulator, workspace: Workspace
) -> None:
    sim = start_simulator()
    manifest = simple_manifest(workspace, 2)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    manifest.write_text(manifest.read_text().replace("scene number 1 of", "scene number one of"))

    again = workspace.run(sim, *run_args(manifest, workspace))

    assert again.returncode == 0, again.stderr
    assert sim.simulator.stats().creates == 3  # two, then only the changed one
    kept = list((workspace.folder() / "_superseded").glob("shot-001.*"))
    assert len(kept) == 1 and (kept[0] / "video.mp4").exists()
    request = json.loads((workspace.folder() / "shot-001" / "request.json").read_text())
    assert request["input"]["prompt"] == "scene number one of shot"


def test_missing_download_is_fetched_again(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator()
    manifest = simple_manifest(workspace, 2)
    assert workspace.run(sim, *run_args(manifest, workspace)).returncode == 0
    (workspace.folder() / "shot-000" / "video.mp4").unlink()
    damaged = workspace.folder() / "shot-001" / "video.mp4"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")

    again = workspace.run(sim, *run_args(manifest, workspace))

    assert again.returncode == 0, again.stderr
    assert sim.simulator.stats().creates == 2
    for entry_id, row in workspace.results().items():
        assert_verified(workspace, entry_id, row)


def test_failed_entry_exits_1_and_is_retried_only_when_asked(
    start_simulator, workspace: Workspace
) -> None:
    sim = start_simulator()
    manifest = workspace.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: good, prompt: a calm sea}
          - {id: bad, prompt: "a storm [sim:moderation]"}
        """
    )
    first = workspace.run(sim, *run_args(manifest, workspace))
    assert first.returncode == 1
    bad = workspace.results()["bad"]
    assert bad["status"] == "failed"
    assert bad["error_code"] == "DataInspectionFailed"
    assert workspace.results()["good"]["status"] == "done"

    second = workspace.run(sim, *run_args(manifest, workspace))
    assert second.returncode == 1
    assert sim.simulator.stats().creates == 2

    third = workspace.run(sim, *run_args(manifest, workspace, "--retry-failed"))
    assert third.returncode == 1
    assert sim.simulator.stats().creates == 3


def test_only_selects_entries_by_glob(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator()
    manifest = simple_manifest(workspace, 4)

    done = workspace.run(sim, *run_args(manifest, workspace, "--only", "shot-00[12]"))

    assert done.returncode == 0, done.stderr
    assert sim.simulator.stats().creates == 2
    statuses = {k: v["status"] for k, v in workspace.results().items()}
    assert statuses == {
        "shot-000": "pending",
        "shot-001": "done",
        "shot-002": "done",
        "shot-003": "pending",
    }
    nothing = workspace.run(sim, *run_args(manifest, workspace, "--only", "nope-*"))
    assert nothing.returncode == 2
    assert "nope-*" in nothing.stderr


def test_account_error_stops_the_run_with_exit_3(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator(api_key="sk-the-real-one-000000000000")
    manifest = simple_manifest(workspace, 3)

    done = workspace.run(sim, *run_args(manifest, workspace))

    assert done.returncode == 3
    assert "InvalidApiKey" in done.stderr
    assert TEST_KEY not in done.stderr + done.stdout
    assert sim.simulator.stats().creates == 0


def test_invalid_manifest_sends_nothing(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator()
    manifest = workspace.manifest(
        """
        version: 1
        shots:
          - {id: long, prompt: a long one, duration: 99}
        """
    )
    done = workspace.run(sim, *run_args(manifest, workspace))
    assert done.returncode == 2
    assert "duration" in done.stderr
    assert sim.simulator.stats().requests == {} or sum(sim.simulator.stats().requests.values()) == 0


def test_second_runner_on_the_same_output_is_refused(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator(render_seconds=600)  # the first run holds the output until told
    manifest = simple_manifest(workspace, 2)
    first = workspace.start(sim, *run_args(manifest, workspace))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')

    second = workspace.run(sim, *run_args(manifest, workspace))

    assert second.returncode == 3
    assert "in use" in second.stderr
    assert first.poll() is None
    sim.simulator.advance(600)  # the renders end: the first run finishes
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert sim.simulator.stats().creates == 2


def test_sigint_saves_state_and_exits_130(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator(render_seconds=1.5)
    manifest = simple_manifest(workspace, 12)
    process = workspace.start(sim, *run_args(manifest, workspace, "--concurrency", "4"))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')

    assert interrupt(process, signal.SIGINT) == 130
    resumed = workspace.run(sim, *run_args(manifest, workspace))

    assert resumed.returncode == 0, resumed.stderr
    stats = sim.simulator.stats()
    assert stats.creates == 12
    assert stats.duplicate_creates == 0


def test_a_second_ctrl_c_stops_waiting_for_a_create_on_the_wire_and_exits_130(
    start_simulator, workspace: Workspace
) -> None:
    """After Ctrl-C a create on the wire gets 30 s to answer; a user who presses Ctrl-C again
    (the natural reaction to a stuck program) stops that wait, and still gets 130 and a state
    the next run settles, not Python's KeyboardInterrupt."""
    sim = start_simulator(hang_seconds=20.0)
    manifest = workspace.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: stuck, prompt: "a create whose answer never comes [sim:lost]"}
        """
    )
    events = workspace.folder() / "events.jsonl"
    process = workspace.start(sim, *run_args(manifest, workspace, "--json"))
    wait_for_events(events, "submit", 1, process)
    # The create is on the wire, inside its shield.
    wait_until(lambda: sim.simulator.stats().creates == 1, "the create to arrive", process)

    process.send_signal(signal.SIGINT)
    wait_for_events(events, "interrupted", 1, process)
    process.send_signal(signal.SIGINT)  # "it's stuck": the user presses Ctrl-C again
    _, stderr = process.communicate(timeout=15)  # well before the shield's 30 s, or the hang's 20

    assert process.returncode == 130, stderr[-800:]
    assert "Traceback" not in stderr
    lines = read_events(events)
    assert [e["event"] for e in lines if e["event"] == "interrupted"] == ["interrupted"] * 2
    (ambiguous,) = [e for e in lines if e["event"] == "submit_ambiguous"]
    assert "before the run stopped" in ambiguous["reason"]


def test_fault_mix_converges_without_duplicates(start_simulator, workspace: Workspace) -> None:
    from kling_batch.simulator import Faults

    sim = start_simulator(
        seed=7,
        faults=Faults(
            server_error=0.1,
            reset=0.1,
            lost_create=0.15,
            truncated_download=0.3,
            slow=0.05,
            slow_seconds=0.3,
        ),
        hang_seconds=1.0,
    )
    manifest = simple_manifest(workspace, 16)
    codes = []
    for _ in range(6):
        done = workspace.run(sim, *run_args(manifest, workspace), timeout=120)
        codes.append(done.returncode)
        if done.returncode == 0:
            break
    assert codes[-1] == 0, (codes, done.stderr[-3000:])
    stats = sim.simulator.stats()
    assert stats.duplicate_creates == 0
    assert stats.creates == 16
    for entry_id, row in workspace.results().items():
        assert_verified(workspace, entry_id, row)


# Where each run is killed: after its n-th line of an event in events.jsonl. Intents recorded
# with their creates maybe on the wire, tasks just claimed, polls, downloads, in that order.
KILL_POINTS = [("submit", 1), ("submitted", 3), ("poll", 2), ("submit", 2), ("download", 1)]


def test_sigkill_at_every_step_loses_nothing_and_pays_once(
    start_simulator, workspace: Workspace
) -> None:
    sim = start_simulator(render_seconds=0.6)
    manifest = simple_manifest(workspace, 20)
    events = workspace.folder() / "events.jsonl"
    for event, nth in KILL_POINTS:
        before = count_events(events, event)
        process = workspace.start(sim, *run_args(manifest, workspace, "--concurrency", "6"))
        wait_for_events(events, event, before + nth, process)
        process.kill()
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
    final = workspace.run(sim, *run_args(manifest, workspace), timeout=120)

    assert count_events(events, "run_started") == len(KILL_POINTS) + 1
    assert final.returncode == 0, final.stderr[-3000:]
    stats = sim.simulator.stats()
    assert stats.duplicate_creates == 0
    assert stats.creates == 20
    for entry_id, row in workspace.results().items():
        assert row["status"] == "done"
        assert_verified(workspace, entry_id, row)


def test_status_reads_the_state_without_network(start_simulator, workspace: Workspace) -> None:
    sim = start_simulator()
    manifest = workspace.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: good, prompt: a calm sea}
          - {id: bad, prompt: "a storm [sim:fail]"}
          - {id: later, prompt: a quiet harbour}
        """
    )
    workspace.run(sim, *run_args(manifest, workspace, "--only", "good", "--only", "bad"))
    before = sim.simulator.stats().requests

    shown = workspace.run(None, "status", str(manifest), "--output", str(workspace.output))
    as_json = workspace.run(
        None, "status", str(manifest), "--output", str(workspace.output), "--json"
    )

    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()[1:]}
    assert "done" in lines["good"]
    assert "failed" in lines["bad"] and "InternalError" in lines["bad"]
    assert "pending" in lines["later"]
    rows = {row["id"]: row for row in map(json.loads, as_json.stdout.splitlines())}
    assert rows["good"]["billed_seconds"] == 3
    assert rows["good"]["estimated_seconds"] == 3
    assert sim.simulator.stats().requests == before


def test_a_simulated_run_stopped_by_sigterm_resumes_to_the_end(workspace: Workspace) -> None:
    manifest = simple_manifest(workspace, 6)
    args = ["run", str(manifest), "--simulate", "--simulate-render-seconds", "2", "--output"]
    process = workspace.start(None, *args, str(workspace.output))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')

    assert interrupt(process, signal.SIGTERM) == 130
    finished = [
        e for e in read_events(workspace.folder() / "events.jsonl") if e["event"] == "run_finished"
    ]
    # Stopped at its first task, long before a 2 s render ends: nothing is finished.
    assert finished[-1]["interrupted"] is True and finished[-1]["unfinished"] == 6
    resumed = workspace.run(None, *args, str(workspace.output), "--poll-interval", "0.2")

    # The first simulator ended with its process: the resumed run renders those entries again.
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert {row["status"] for row in workspace.results().values()} == {"done"}
