"""Renames under `moved:` (kling_batch/runner/moves.py): the record and folder go to the new id,
and nothing is sent; a move whose content changed is not carried; a move that does not fit the
output is refused before anything is sent. Real runs against the in-process simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kling_batch.manifest.model import Manifest
from kling_batch.plan import Plan, build_plan
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import SUPERSEDED_DIR, OutputLayout
from kling_batch.runner.decide import Action
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.moves import MoveRefused
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore
from tests.conftest import count_events, fast_simulator, read_events, run, write_manifest

BEFORE = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: solo-a, prompt: "a solo shot by the window"}
      - {id: other, prompt: "another shot"}
"""
RENAMED = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: solo-b, prompt: "a solo shot by the window"}
      - {id: other, prompt: "another shot"}
    moved:
      - {from: solo-a, to: solo-b}
"""


def folder(output: Path) -> Path:
    return output / "batch"


def rendered(tmp_path: Path) -> tuple[Path, str]:
    """BEFORE, rendered into tmp_path/out; the output and solo-a's task id."""
    output = tmp_path / "out"
    summary = run(write_manifest(tmp_path, BEFORE), output, fast_simulator())
    assert summary is not None and summary.all_done
    store = StateStore.open_folder(folder(output), readonly=True)
    try:
        record = store.get("solo-a")
    finally:
        store.close()
    assert record is not None and record.task_id is not None
    return output, record.task_id


def plan(manifest: Manifest, output: Path, **options: Any) -> Plan:
    layout = OutputLayout.for_manifest(output, manifest.name)
    store = StateStore(layout.state, readonly=True) if layout.state.exists() else None
    try:
        return build_plan(manifest, layout, store, PriceTable.load(), **options)
    finally:
        if store is not None:
            store.close()


def test_a_rename_sends_nothing_and_carries_record_folder_and_video(tmp_path: Path) -> None:
    output, task = rendered(tmp_path)
    video = (folder(output) / "solo-a" / "video.mp4").read_bytes()
    renamed = write_manifest(tmp_path, RENAMED)

    planned = {p.id: p for p in plan(renamed, output).entries}
    assert planned["solo-b"].moved_from == "solo-a"
    assert planned["solo-b"].action is Action.SKIP and not planned["solo-b"].pays
    assert planned["solo-b"].detail == "moved from solo-a; done"

    sim = fast_simulator()
    summary = run(write_manifest(tmp_path, RENAMED), output, sim)

    assert summary is not None and summary.all_done
    assert sim.stats().creates == 0
    assert (folder(output) / "solo-b" / "video.mp4").read_bytes() == video
    assert not (folder(output) / "solo-a").exists()
    store = StateStore.open_folder(folder(output), readonly=True)
    try:
        assert store.get("solo-a") is None
        record = store.get("solo-b")
        assert record is not None and record.task_id == task and record.state is EntryState.DONE
    finally:
        store.close()
    assert count_events(folder(output) / "events.jsonl", "entry_moved", moved_from="solo-a") == 1
    results = (folder(output) / "results.jsonl").read_text()
    assert '"id": "solo-b"' in results and '"id": "solo-a"' not in results

    # Carried once: the same command again is silent, and still sends nothing.
    again = run(write_manifest(tmp_path, RENAMED), output, sim)
    assert again is not None and again.all_done and sim.stats().creates == 0
    assert not any(p.moved_from for p in plan(renamed, output).entries)


def test_a_kill_between_the_folder_and_the_record_resumes(tmp_path: Path) -> None:
    """SIGKILL in the one moment a carry is half done: the folder renamed, the record not yet.
    The next run carries the record, finds the files in place, and sends nothing."""
    output, task = rendered(tmp_path)
    renamed = write_manifest(tmp_path, RENAMED)
    # The run of the test harness, in a process whose store dies as the record is carried.
    killed = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from kling_batch.manifest import load
        from kling_batch.runner.state import StateStore
        from tests.conftest import fast_simulator, run
        StateStore.carry_record = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        run(load(Path({str(renamed.path)!r})), Path({str(output)!r}), fast_simulator())
        """
    )
    root = Path(__file__).resolve().parents[2]
    process = subprocess.run(
        [sys.executable, "-c", killed],
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == -9, process.stderr
    # What the kill left: the folder under the new id, the record under the old one.
    assert (folder(output) / "solo-b" / "video.mp4").exists()
    assert not (folder(output) / "solo-a").exists()
    planned = {p.id: p for p in plan(renamed, output).entries}
    assert planned["solo-b"].moved_from == "solo-a"
    assert planned["solo-b"].action is Action.SKIP  # its files are found where the kill left them

    sim = fast_simulator()
    summary = run(write_manifest(tmp_path, RENAMED), output, sim)

    assert summary is not None and summary.all_done and sim.stats().creates == 0
    store = StateStore.open_folder(folder(output), readonly=True)
    try:
        record = store.get("solo-b")
        assert record is not None and record.task_id == task
        assert store.get("solo-a") is None
    finally:
        store.close()
    assert not (folder(output) / SUPERSEDED_DIR).exists()  # nothing was rendered again


def test_a_rename_with_a_changed_prompt_is_not_carried(tmp_path: Path) -> None:
    output, task = rendered(tmp_path)
    changed = write_manifest(
        tmp_path, RENAMED.replace('solo-b, prompt: "a solo shot', 'solo-b, prompt: "a duo shot')
    )

    planned = {p.id: p for p in plan(changed, output).entries}
    assert planned["solo-b"].action is Action.SUBMIT and planned["solo-b"].moved_from is None
    assert planned["solo-b"].note is not None
    assert "moved from solo-a, whose content changed (prompt): not carried" in (
        planned["solo-b"].note
    )

    sim = fast_simulator()
    summary = run(changed, output, sim)

    assert summary is not None and summary.all_done and sim.stats().creates == 1
    events = read_events(folder(output) / "events.jsonl")
    said = [e for e in events if e["event"] == "entry_changed" and e["entry"] == "solo-b"]
    assert [e["reason"] for e in said] == ["moved_changed"]
    assert said[0]["previous_task"] == task
    # solo-a's render stays under its old id; the next run is silent and sends nothing.
    assert (folder(output) / "solo-a" / "video.mp4").exists()
    again = run(changed, output, sim)
    assert again is not None and again.all_done and sim.stats().creates == 1
    assert all(p.note is None for p in plan(changed, output).entries)


def test_a_move_from_an_id_never_rendered_here_is_refused(tmp_path: Path) -> None:
    renamed = write_manifest(tmp_path, RENAMED)
    output = tmp_path / "out"
    with pytest.raises(MoveRefused) as refused:
        plan(renamed, output)
    line = RENAMED.lstrip("\n").splitlines().index("      - {from: solo-a, to: solo-b}") + 1
    message = str(refused.value)
    assert message.startswith(f"{renamed.path}:{line}:")
    assert "solo-b: moved[0]: nothing in this output was rendered as 'solo-a'" in message
    assert "remove this move" in message

    sim = fast_simulator()
    with pytest.raises(MoveRefused):
        run(renamed, output, sim)
    assert sim.stats().creates == 0


def test_a_move_to_an_id_with_a_render_of_its_own_is_refused(tmp_path: Path) -> None:
    output, _ = rendered(tmp_path)
    # The rename rendered without `moved:` first: solo-b has its own render now.
    both = RENAMED.replace("    moved:\n      - {from: solo-a, to: solo-b}\n", "")
    run(write_manifest(tmp_path, both), output, fast_simulator())
    renamed = write_manifest(tmp_path, RENAMED)

    with pytest.raises(MoveRefused, match="'solo-b' already has a record of its own"):
        plan(renamed, output)
    sim = fast_simulator()
    with pytest.raises(MoveRefused):
        run(renamed, output, sim)
    assert sim.stats().creates == 0


def test_the_store_carries_a_record_and_its_history_in_one_step(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    try:
        basis = EchoBasis(prompt="a lost one")
        store.record_intent("a", fingerprint="f1", model="m", body_sha256="s", basis=basis)
        store.forget("a")  # an unsettled create, superseded: its task may exist
        store.record_intent("a", fingerprint="f2", model="m", body_sha256="s", basis=basis)

        carried = store.carry_record("a", "b")

        assert carried.entry_id == "b" and carried.fingerprint == "f2"
        assert store.get("a") is None
        assert [g.entry_id for g in store.superseded_attempts("m", 0.0, "b")] == ["b"]
        assert store.superseded_attempts("m", 0.0, "a") == []
        assert store.carry_record("a", "b") == carried  # asked again: already done
        store.record_intent("a", fingerprint="f3", model="m", body_sha256="s", basis=basis)
        with pytest.raises(ValueError):
            store.carry_record("a", "b")
        with pytest.raises(KeyError):
            store.carry_record("x", "y")
    finally:
        store.close()
