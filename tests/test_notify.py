"""The end-of-run notification: its summary of a real run, a POST to a real loopback server and
a real command on stdin; every failure comes back as a value, in bounded time."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

from kling_batch.api import ApiKey, ConfigurationError
from kling_batch.api.errors import InsecureUrlError
from kling_batch.batch import run_manifest
from kling_batch.cli.exit_codes import ExitCode
from kling_batch.manifest import load
from kling_batch.notify import (
    NotifyTargets,
    check_notify_url,
    notify,
    run_exit_status,
    run_summary,
)
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection
from kling_batch.runner.events import NotifyFailed
from kling_batch.runner.options import RunOptions, RunSummary
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport
from tests.conftest import fast_simulator, write_manifest, write_manifest_file
from tests.conftest import run as run_to_end

MANIFEST = """
    version: 1
    name: nightly
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - id: cat
        prompt: a cat in the moonlight
      - id: refused
        prompt: "a scene the moderation refuses [sim:moderation]"
"""


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The summary of a real run on the in-process simulator: one done, one failed."""
    root = tmp_path_factory.mktemp("run")
    manifest = write_manifest(root, MANIFEST, "nightly")
    outcome = run_to_end(manifest, root / "out", fast_simulator(render_seconds=0.2))
    assert outcome is not None
    layout = OutputLayout.for_manifest(root / "out", manifest.name)
    store = StateStore(layout.state, readonly=True)
    try:
        return run_summary(
            manifest, outcome, layout, store, PriceTable.load(), exit_status=1, now=0.0
        )
    finally:
        store.close()


def test_the_summary_counts_states_and_cost_of_the_run(summary: dict[str, Any]) -> None:
    assert summary["manifest"] == "nightly"
    assert summary["simulated"] is True
    assert summary["exit_status"] == 1
    assert (summary["entries"], summary["counts"]["done"], summary["counts"]["failed"]) == (2, 1, 1)
    assert sum(summary["counts"].values()) == 2
    assert set(summary["counts"]) >= {"done", "failed", "unknown", "pending", "in_flight"}
    assert summary["billed_seconds"] == 3
    assert summary["cost"] == pytest.approx(1.8)  # 3 s of std, silent, at the shipped price
    assert summary["currency"] == "CNY"
    assert Path(summary["report"]).name == "report.html" and Path(summary["report"]).is_file()
    assert summary["elapsed_seconds"] > 0
    assert summary["finished_at"] == "1970-01-01T00:00:00+00:00"
    assert (summary["interrupted"], summary["fatal"]) == (False, None)
    json.dumps(summary)  # all of it is JSON


def test_every_field_of_the_summary_is_documented(summary: dict[str, Any]) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "notifications.md").read_text()
    documented = re.findall(r"^\| `(\w+)` \|", doc, flags=re.MULTILINE)
    assert documented == list(summary)
    example = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    assert sorted(example) == sorted(summary)
    assert sorted(example["counts"]) == sorted(summary["counts"])


@dataclass
class Hook:
    """A tiny webhook on loopback: keeps what it was sent, answers `status`, or holds the
    answer until the test ends (`hang`)."""

    status: int = 204
    hang: bool = False
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@contextmanager
def serving_hook() -> Iterator[Hook]:
    """A Hook listening on 127.0.0.1 (its `url` has a secret-looking path) until the end."""
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((self.path, dict(self.headers), body))
            if state.hang:
                state.release.wait(30)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/s3cr3t-token"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serving_hook() as state:
        yield state


def test_the_summary_is_posted_once_as_json(hook: Hook, summary: dict[str, Any]) -> None:
    assert notify(summary, url=hook.url) == []
    ((path, headers, body),) = hook.received
    assert path == "/hooks/s3cr3t-token"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == summary


def test_a_refusing_hook_is_a_failure_that_hides_the_urls_path(
    hook: Hook, summary: dict[str, Any]
) -> None:
    hook.status = 500
    (failure,) = notify(summary, url=hook.url)
    assert (failure.channel, failure.reason) == ("url", "HTTP 500 Internal Server Error")
    assert failure.target == hook.url.split("/hooks")[0]
    assert "s3cr3t" not in str(failure)


def test_a_hook_that_never_answers_gives_up_in_bounded_time(
    hook: Hook, summary: dict[str, Any]
) -> None:
    hook.hang = True
    started = time.monotonic()
    (failure,) = notify(summary, url=hook.url, timeout=0.5)
    assert time.monotonic() - started < 5
    assert failure.reason == "no answer within 0.5 s"


def test_no_one_listening_is_a_failure(summary: dict[str, Any]) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    (failure,) = notify(summary, url=f"http://127.0.0.1:{port}/", timeout=2)
    assert failure.reason.startswith("ConnectError")


def test_plain_http_goes_only_to_loopback(summary: dict[str, Any]) -> None:
    with pytest.raises(InsecureUrlError):
        check_notify_url("http://hooks.example.com/x")
    assert check_notify_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    (failure,) = notify(summary, url="http://hooks.example.com/x")
    assert "plain http only to a loopback address" in failure.reason


def python_command(code: str, *arguments: str) -> str:
    return shlex.join([sys.executable, "-c", code, *arguments])


def test_the_command_gets_the_summary_on_stdin_and_not_the_key(
    tmp_path: Path, summary: dict[str, Any]
) -> None:
    kept = tmp_path / "kept.json"
    code = (
        "import json, os, sys; "
        "json.dump({'summary': json.load(sys.stdin), "
        "'key': 'DASHSCOPE_API_KEY' in os.environ, 'home': os.environ.get('HOME')}, "
        "open(sys.argv[1], 'w'))"
    )
    environ = {"DASHSCOPE_API_KEY": "sk-never-passed-on", "HOME": "/home/someone"}
    assert notify(summary, command=python_command(code, str(kept)), environ=environ) == []
    seen = json.loads(kept.read_text())
    assert seen == {"summary": summary, "key": False, "home": "/home/someone"}


def test_a_failing_command_is_reported_with_its_status_and_last_words(
    summary: dict[str, Any],
) -> None:
    code = "import sys; sys.stdin.read(); print('hook refused: quota', file=sys.stderr); exit(3)"
    (failure,) = notify(summary, command=python_command(code))
    assert failure.channel == "command"
    assert failure.reason == "exited with status 3: hook refused: quota"


def test_a_command_that_hangs_is_stopped_in_bounded_time(summary: dict[str, Any]) -> None:
    code = "import sys, threading; sys.stdin.read(); threading.Event().wait()"
    started = time.monotonic()
    (failure,) = notify(summary, command=python_command(code), timeout=0.5)
    assert time.monotonic() - started < 5
    assert failure.reason == "still running after 0.5 s; stopped"


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("no-such-notifier-here --now", "cannot run it: No such file or directory"),
        ("notify 'unbalanced", "cannot split it: No closing quotation"),
        ("   ", "it is empty"),
    ],
)
def test_a_command_that_cannot_run_is_a_failure(
    summary: dict[str, Any], command: str, reason: str
) -> None:
    (failure,) = notify(summary, command=command)
    assert failure.reason == reason


def test_one_channel_failing_does_not_stop_the_other(hook: Hook, summary: dict[str, Any]) -> None:
    (failure,) = notify(summary, url=hook.url, command="no-such-notifier-here")
    assert failure.channel == "command"
    assert len(hook.received) == 1


# -- wired into a run (kling_batch/batch.py) -------------------------------------------------


@dataclass
class Collected:
    events: list[Any] = field(default_factory=list)

    def emit(self, event: Any) -> None:
        self.events.append(event)


def run_nightly(root: Path, targets: NotifyTargets, sinks: list[Any]) -> RunSummary:
    path = root / "nightly.yaml"
    path.write_text(textwrap.dedent(MANIFEST).lstrip(), encoding="utf-8")
    connection = Connection(
        base_url="http://localhost/api/v1",
        api_key=ApiKey("simulated-key"),
        transport=simulator_transport(Simulator(SimulatorConfig(render_seconds=0.2))),
        in_process=True,
    )
    options = RunOptions(poll_interval=0.05, handle_signals=False)
    run = partial(run_manifest, notify_targets=targets)
    outcome: RunSummary = anyio.run(run, load(path), connection, root / "out", options, sinks)
    return outcome


def test_a_run_sends_one_summary_when_it_ends(hook: Hook, tmp_path: Path) -> None:
    outcome = run_nightly(tmp_path, NotifyTargets(url=hook.url), [])

    ((_, _, body),) = hook.received
    sent = json.loads(body)
    assert sent["exit_status"] == run_exit_status(outcome) == 1  # the refused entry
    assert Path(sent["report"]).is_file()  # written before the summary was made
    assert sent["counts"]["done"] == 1 and sent["counts"]["failed"] == 1


def test_a_failed_notification_is_an_event_in_the_log_and_the_sinks(
    hook: Hook, tmp_path: Path
) -> None:
    hook.status = 503
    sink = Collected()
    outcome = run_nightly(tmp_path, NotifyTargets(url=hook.url, command="no-such-notifier"), [sink])

    failed = [e for e in sink.events if isinstance(e, NotifyFailed)]
    assert [(e.channel, e.reason) for e in failed] == [
        ("url", "HTTP 503 Service Unavailable"),
        ("command", "cannot run it: No such file or directory"),
    ]
    lines = (tmp_path / "out" / "nightly" / "events.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in lines if '"notify_failed"' in line]
    assert [e["channel"] for e in logged] == ["url", "command"]
    assert json.loads(lines[-3])["event"] == "run_finished"  # after the run's own end
    assert "s3cr3t" not in "".join(lines)
    assert outcome.count(None) == 0 and run_exit_status(outcome) == 1  # as without the hook


@pytest.mark.parametrize(
    ("targets", "says"),
    [
        (NotifyTargets(url="http://hooks.example.com/x"), "plain http only to a loopback"),
        (NotifyTargets(url="not a url at all"), "refusing"),
        (NotifyTargets(command="notify 'unbalanced"), "cannot split it"),
        (NotifyTargets(command="  "), "--notify-cmd is empty"),
    ],
)
def test_targets_that_could_never_work_are_refused_before_the_run(
    targets: NotifyTargets, says: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        targets.checked()
    assert NotifyTargets(url="https://hooks.example.com/x", command="notify-chat").checked()
    assert not NotifyTargets()


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (RunSummary({"a": EntryState.DONE}), ExitCode.OK),
        (RunSummary({"a": EntryState.DONE, "b": EntryState.FAILED}), ExitCode.ENTRY_FAILED),
        (RunSummary({"a": None}, over_budget=("a",)), ExitCode.ENTRY_FAILED),
        (RunSummary({"a": None}, interrupted=True), ExitCode.INTERRUPTED),
        (RunSummary({"a": None}, interrupted=True, fatal="AccountError"), ExitCode.FATAL),
    ],
)
def test_the_summary_reports_the_exit_status_the_command_returns(
    outcome: RunSummary, status: ExitCode
) -> None:
    assert run_exit_status(outcome) == status


def test_a_run_stopped_by_an_unexpected_error_exits_3_as_its_notification_says(
    tmp_path: Path,
) -> None:
    """The fault: report.html cannot be written (a folder holds its name) after every entry
    is done. The promise: the command exits 3 with the error named (and its traceback, for a
    bug report), and the notification it sent said 3 too."""
    manifest = write_manifest_file(
        tmp_path,
        """
        version: 1
        name: nightly
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - id: cat
            prompt: a cat in the moonlight
        """,
    )
    (tmp_path / "output" / "nightly" / "report.html").mkdir(parents=True)
    kept = tmp_path / "kept.json"
    code = "import shutil, sys; shutil.copyfileobj(sys.stdin, open(sys.argv[1], 'w'))"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "kling_batch",
            "run",
            str(manifest),
            "--output",
            str(tmp_path / "output"),
            "--simulate",
            "--simulate-render-seconds",
            "0.1",
            "--notify-cmd",
            python_command(code, str(kept)),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert finished.returncode == ExitCode.FATAL, finished.stderr
    assert "stopped on an unexpected error: IsADirectoryError" in finished.stderr
    assert "Traceback (most recent call last)" in finished.stderr
    assert json.loads(kept.read_text())["exit_status"] == ExitCode.FATAL
