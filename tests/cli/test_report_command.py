"""`kling-batch report MANIFEST`: rewrites report.html from what a run left on disk."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from kling_batch.api.types import Task, TaskStatus
from kling_batch.cli import main
from kling_batch.cli.exit_codes import ExitCode
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.records import EntryRecord, FileRecord
from kling_batch.runner.state import StateStore
from kling_batch.runner.transitions import downloaded, task_seen


def fold(store: StateStore, entry_id: str, task: Task) -> EntryRecord:
    """What a run does with a task it saw: the transition, persisted."""
    record = store.get(entry_id)
    assert record is not None
    return store.apply(entry_id, task_seen(record, task, time.time()))


def finish(store: StateStore, entry_id: str, files: tuple[FileRecord, ...]) -> EntryRecord:
    return store.apply(entry_id, downloaded(files))


MANIFEST = """\
version: 1
name: promo
defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
shots:
  - {id: first, prompt: a cat under the moon}
  - {id: second, prompt: "a <b>bold</b> flower"}
"""


def make_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "promo.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return path


def test_report_writes_the_page_for_the_output(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    layout = OutputLayout.for_manifest(tmp_path / "out", "promo")
    store = StateStore(layout.state)
    store.record_intent(
        "first", fingerprint="f", model="m", body_sha256="b", basis=EchoBasis(prompt=None)
    )
    store.record_submitted("first", Task("task-1", TaskStatus.PENDING))
    fold(store, "first", Task("task-1", TaskStatus.FAILED, code="Boom", message="it broke"))
    store.close()

    result = CliRunner().invoke(main, ["report", str(manifest), "--output", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(layout.report)
    page = layout.report.read_text(encoding="utf-8")
    assert 'data-entry="first" data-status="failed"' in page
    assert 'data-entry="second" data-status="pending"' in page
    assert "a &lt;b&gt;bold&lt;/b&gt; flower" in page


def test_report_reads_the_output_folder_from_the_environment(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    layout = OutputLayout.for_manifest(tmp_path / "elsewhere", "promo")
    StateStore(layout.state).close()

    result = CliRunner().invoke(
        main, ["report", str(manifest)], env={"OUTPUT_DIR": str(tmp_path / "elsewhere")}
    )

    assert result.exit_code == 0, result.output
    assert layout.report.is_file()


def test_report_without_a_run_says_so_and_writes_nothing(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)

    result = CliRunner().invoke(main, ["report", str(manifest), "--output", str(tmp_path / "out")])

    assert result.exit_code == ExitCode.INVALID
    assert "holds no run of" in result.stderr
    assert not (tmp_path / "out").exists()


def test_report_of_an_invalid_manifest_exits_2(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("version: 1\nshots:\n  - {id: x}\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["report", str(manifest), "--output", str(tmp_path)])

    assert result.exit_code == ExitCode.INVALID
    assert "the manifest is invalid" in result.stderr
