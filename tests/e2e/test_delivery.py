"""Review and delivery through the CLI (spec §8), against the loopback simulator: a run with
takes notifies once and leaves a report with poster frames, groups and a contact sheet; a pick;
`export --picked` delivers exactly one verified video per picked group. Every run, however it
ends, sends exactly one notification to a tiny webhook on loopback; one that fails is reported
and logged, and changes no exit status.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kling_batch.delivery.groups import group_of, grouped
from kling_batch.manifest import load

from ..test_notify import Hook, serving_hook
from .conftest import TEST_KEY, Sim, Workspace, interrupt, wait_for_file_line
from .test_run import run_args

# Two takes of one body (spec §7: `takes: 2` makes mug-take1 and mug-take2, group "mug").
TAKES = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - id: mug
        prompt: a red mug on a wooden table, slow dolly in
        takes: 2
      - id: tower
        prompt: a lighthouse at dusk
        aspect_ratio: "9:16"
"""
ONE_REFUSED = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: cat, prompt: a cat in the moonlight}
      - {id: refused, prompt: "a scene the moderation refuses [sim:moderation]"}
"""


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A webhook on loopback that keeps what it is sent (tests/test_notify.py)."""
    with serving_hook() as state:
        yield state


def summaries(hook: Hook) -> list[dict[str, Any]]:
    return [json.loads(body) for _, _, body in hook.received]


def events(workspace: Workspace) -> list[dict[str, Any]]:
    lines = (workspace.folder() / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_takes_a_pick_and_a_picked_export(
    start_simulator: Any, workspace: Workspace, hook: Hook
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(TAKES)
    notify = ("--notify-url", hook.url)

    first = workspace.run(sim, *run_args(manifest, workspace, *notify))
    assert first.returncode == 0, first.stderr
    report = workspace.folder() / "report.html"
    last = first.stderr.strip().splitlines()[-2:]
    assert re.fullmatch(
        r"cost: 5\.40 CNY billed for 3 of 3 entries \(5\.40 CNY in this run\)", last[0]
    )
    assert last[1] == f"report: {report}"
    (summary,) = summaries(hook)
    assert (summary["exit_status"], summary["counts"]["done"]) == (0, 3)
    assert summary["report"] == str(report.resolve())

    # Every done video has its poster frame on its card; the contact sheet sits beside it.
    page = report.read_text(encoding="utf-8")
    for entry_id in ("mug-take1", "mug-take2", "tower"):
        assert f'poster="{entry_id}/poster.jpg"' in page
        assert (workspace.folder() / entry_id / "poster.jpg").is_file()
    assert 'href="contact-sheet.png"' in page
    assert (workspace.folder() / "contact-sheet.png").stat().st_size > 1000
    groups = grouped(load(manifest).entries)
    assert list(groups) == ["mug", "tower"]
    for group, members in groups.items():
        for entry in members:
            assert re.search(f'data-entry="{entry.id}"[^>]*data-group="{group}"', page)
        if len(members) > 1:  # side by side in one section
            section = page.split(f'<section class="group" data-group="{group}"', 1)[1]
            section = section.split("</section>", 1)[0]
            assert [m for m in re.findall(r'data-entry="([^"]+)"', section)] == [
                e.id for e in members
            ]

    again = workspace.run(sim, *run_args(manifest, workspace, *notify))
    assert again.returncode == 0, again.stderr
    assert "nothing to do: 3 of 3 already done" in again.stderr
    assert "(nothing in this run)" in again.stderr
    assert len(summaries(hook)) == 2  # one per run

    picked = workspace.run(
        sim, "pick", str(manifest), "mug-take2", "--output", str(workspace.output), "--json"
    )
    assert picked.returncode == 0, picked.stderr
    mug = group_of(load(manifest).entry("mug-take2"))
    assert json.loads(picked.stdout) == {
        "picks_file": str(manifest.with_name("batch.picks.yaml")),
        "group": mug,
        "picked": "mug-take2",
        "previous": None,
        "changed": True,
    }
    tower = workspace.run(sim, "pick", str(manifest), "tower", "--output", str(workspace.output))
    assert tower.returncode == 0, tower.stderr
    rewritten = workspace.run(sim, "report", str(manifest), "--output", str(workspace.output))
    assert rewritten.returncode == 0, rewritten.stderr
    page = report.read_text(encoding="utf-8")
    assert page.count('<span class="badge picked">picked</span>') == 2

    handoff = workspace.root / "handoff"
    exported = workspace.run(
        sim, "export", str(manifest), "--to", str(handoff), "--output", str(workspace.output),
        "--picked", "--json",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    result = json.loads(exported.stdout)
    delivered = {item["id"]: Path(item["file"]) for item in result["delivered"]}
    # Exactly one video per group that has a pick; a group without one is named in a warning.
    assert sorted(delivered) == ["mug-take2", "tower"]
    unpicked = [group for group in groups if group not in (mug, "tower")]
    if unpicked:
        assert any(", ".join(unpicked) in warning for warning in result["warnings"])
    assert sorted(p.name for p in handoff.iterdir()) == sorted(
        ["delivery.csv", "delivery.json", "mug-take2.mp4", "tower.mp4"]
    )
    sheet = {row["id"]: row for row in json.loads((handoff / "delivery.json").read_text())}
    recorded = workspace.results()
    for entry_id, path in delivered.items():
        assert sheet[entry_id]["sha256"] == sha256(path) == recorded[entry_id]["sha256"]
        assert sheet[entry_id]["group"] == group_of(load(manifest).entry(entry_id))
    assert result["sheets"] == {
        "csv": str(handoff / "delivery.csv"),
        "json": str(handoff / "delivery.json"),
    }
    assert sim.simulator.stats().creates == 3


def test_a_plain_http_notify_url_off_loopback_is_refused_before_anything_is_sent(
    start_simulator: Any, workspace: Workspace
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(TAKES)

    refused = workspace.run(
        sim, *run_args(manifest, workspace, "--notify-url", "http://hooks.example.com/s3cr3t")
    )

    assert refused.returncode == 2
    assert "plain http only to a loopback address" in refused.stderr
    assert "s3cr3t" not in refused.stderr
    assert sim.simulator.stats().creates == 0
    assert not (workspace.folder() / "events.jsonl").exists()


def test_a_failing_notification_is_reported_and_logged_and_the_exit_status_stands(
    start_simulator: Any, workspace: Workspace, hook: Hook
) -> None:
    sim: Sim = start_simulator()
    manifest = workspace.manifest(ONE_REFUSED)
    hook.status = 500
    kept = workspace.root / "summary.json"
    copy = shlex.join(
        [
            sys.executable,
            "-c",
            f"import sys; open({str(kept)!r}, 'wb').write(sys.stdin.buffer.read())",
        ]
    )
    failing = shlex.join(
        [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit('no chat today')"]
    )

    done = workspace.run(
        sim, *run_args(manifest, workspace, "--notify-url", hook.url, "--notify-cmd", copy)
    )
    assert done.returncode == 1, done.stderr  # the refused entry's, not the hook's
    (posted,) = summaries(hook)
    assert posted["exit_status"] == 1 and posted["counts"]["failed"] == 1
    assert json.loads(kept.read_text()) == posted  # the command got the same summary
    port = hook.url.split("/")[2]
    assert (
        f"warning: notification to http://{port} failed: HTTP 500 Internal Server Error"
        in done.stderr
    )
    assert "not done: refused (failed); the report says what to do next" in done.stderr
    assert "s3cr3t" not in done.stderr + (workspace.folder() / "events.jsonl").read_text()
    (logged,) = [e for e in events(workspace) if e["event"] == "notify_failed"]
    assert (logged["channel"], logged["target"]) == ("url", f"http://{port}")

    hook.status = 204
    again = workspace.run(
        sim,
        *run_args(manifest, workspace, "--notify-url", hook.url, "--notify-cmd", failing, "--json"),
    )
    assert again.returncode == 1
    assert len(summaries(hook)) == 2
    streamed = [json.loads(line) for line in again.stdout.splitlines()]
    (failure,) = [e for e in streamed if e["event"] == "notify_failed"]
    assert (
        failure["channel"] == "command"
        and failure["reason"] == "exited with status 1: no chat today"
    )
    assert "warning: notification to python" in again.stderr


def test_an_interrupted_run_notifies_once(
    start_simulator: Any, workspace: Workspace, hook: Hook
) -> None:
    sim: Sim = start_simulator(render_seconds=30)
    manifest = workspace.manifest(TAKES)
    process = workspace.start(sim, *run_args(manifest, workspace, "--notify-url", hook.url))
    wait_for_file_line(workspace.folder() / "events.jsonl", '"submitted"')

    assert interrupt(process, signal.SIGINT) == 130
    (summary,) = summaries(hook)
    assert (summary["exit_status"], summary["interrupted"]) == (130, True)
    assert summary["counts"]["done"] == 0


def test_a_run_stopped_by_an_account_error_notifies_once(
    start_simulator: Any, workspace: Workspace, hook: Hook
) -> None:
    sim: Sim = start_simulator(api_key="sk-the-real-one-000000000000")
    manifest = workspace.manifest(TAKES)

    done = workspace.run(sim, *run_args(manifest, workspace, "--notify-url", hook.url))

    assert done.returncode == 3
    (summary,) = summaries(hook)
    assert summary["exit_status"] == 3 and "InvalidApiKey" in summary["fatal"]
    assert TEST_KEY not in json.dumps(summary)
