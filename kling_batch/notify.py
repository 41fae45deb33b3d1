"""The end-of-run notification (spec §8): one JSON summary, POSTed to a URL and/or piped to a
command, whatever the run's outcome.

    summary = run_summary(manifest, outcome, layout, store, prices,
                          exit_status=run_exit_status(outcome))
    for failure in notify(summary, url="https://hooks.example.com/...", command="notify-send-it"):
        print(f"warning: {failure}")

`kling-batch run --notify-url URL --notify-cmd CMD` does this when a run ends (kling_batch/batch.py,
with `NotifyTargets`), and logs a failure as a `notify_failed` event.

A notification is a courtesy, never part of the run: `notify` returns what went wrong as
`NotifyFailure`s for the caller to report, never raises, and has no say in the exit status.
Both channels are bounded in time. The URL obeys the base URL's rule (https, or plain http to
loopback only) and is never shown in full: a webhook's path is often its password. The command
runs without a shell (its words split as a POSIX shell would) and without `$DASHSCOPE_API_KEY`
in its environment. The JSON format is in docs/notifications.md.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from kling_batch._version import __version__
from kling_batch.api.errors import ConfigurationError, InsecureUrlError
from kling_batch.api.security import API_KEY_ENV, require_secure_url
from kling_batch.manifest.model import Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.options import RunSummary
from kling_batch.runner.records import EntryState
from kling_batch.runner.results import billed_cost
from kling_batch.runner.state import StateStore

SUMMARY_VERSION = 1
NOTIFY_SECONDS = 10.0  # per channel: long enough for a slow webhook, short enough to not hold up
NOT_REACHED = "pending"  # an entry the run stopped before (the name results.jsonl uses)

# The run's exit statuses of the contract (spec §2), which cli/exit_codes.py names: here, below
# the command line, because the summary reports the status the command is about to return.
EXIT_DONE, EXIT_ENTRY_FAILED, EXIT_FATAL, EXIT_INTERRUPTED = 0, 1, 3, 130


@dataclass(frozen=True)
class NotifyTargets:
    """Where a run's summary goes when it ends: a URL to POST it to, a command to pipe it to."""

    url: str | None = None
    command: str | None = None

    def __bool__(self) -> bool:
        return self.url is not None or self.command is not None

    def checked(self) -> NotifyTargets:
        """These targets, or ConfigurationError (InsecureUrlError for the URL) when one could
        never work: for the run to refuse before it starts, not after."""
        if self.url is not None:
            check_notify_url(self.url)
        if self.command is not None:
            check_notify_command(self.command)
        return self


def run_exit_status(outcome: RunSummary) -> int:
    """The exit status of a run that ended with `outcome`: a fatal error first (3), then an
    interrupt (130), then any entry not done (1), else 0."""
    if outcome.fatal:
        return EXIT_FATAL
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_DONE if outcome.all_done else EXIT_ENTRY_FAILED


@dataclass(frozen=True)
class NotifyFailure:
    """A notification that did not arrive; `target` is safe to print (no URL path or query)."""

    channel: str  # "url" or "command"
    target: str
    reason: str

    def __str__(self) -> str:
        return f"notification to {self.target} failed: {self.reason}"


def run_summary(
    manifest: Manifest,
    outcome: RunSummary,
    layout: OutputLayout,
    store: StateStore,
    prices: PriceTable,
    *,
    exit_status: int,
    now: float | None = None,
) -> dict[str, Any]:
    """The JSON summary of a finished run (see docs/notifications.md)."""
    counts = {str(state): 0 for state in EntryState}
    counts[NOT_REACHED] = 0
    for state in outcome.states.values():
        counts[NOT_REACHED if state is None else str(state)] += 1
    billed_seconds = 0
    cost = Decimal(0)
    for entry_id in outcome.states:
        record = store.get(entry_id)
        if record is not None and record.billed_seconds is not None:
            billed_seconds += record.billed_seconds
            cost += billed_cost(manifest.entry(entry_id), record, prices, record.billed_seconds)
    world = store.world()
    moment = time.time() if now is None else now
    return {
        "version": SUMMARY_VERSION,
        "event": "run_finished",
        "manifest": manifest.name,
        "manifest_path": str(manifest.path.resolve()),
        "output": str(layout.folder.resolve()),
        "report": str(layout.report.resolve()) if layout.report.exists() else None,
        "simulated": world.simulated if world is not None else None,
        "exit_status": exit_status,
        "interrupted": outcome.interrupted,
        "fatal": outcome.fatal,
        "entries": len(outcome.states),
        "counts": counts,
        "over_budget": list(outcome.over_budget),
        "billed_seconds": billed_seconds,
        "cost": float(cost),
        "currency": prices.currency,
        "elapsed_seconds": round(outcome.elapsed, 3),
        "finished_at": datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds"),
        "kling_batch": __version__,
    }


def check_notify_url(url: str) -> str:
    """`url` if a notification may go there (https, or http to loopback), else InsecureUrlError:
    for the command line to refuse before the run, not after it."""
    return require_secure_url(url)


def check_notify_command(command: str) -> str:
    """`command` if it splits into words (and is not empty), else ConfigurationError."""
    try:
        words = shlex.split(command)
    except ValueError as problem:
        raise ConfigurationError(f"--notify-cmd {command!r}: cannot split it: {problem}") from None
    if not words:
        raise ConfigurationError("--notify-cmd is empty: name a command")
    return command


def notify(
    summary: Mapping[str, Any],
    *,
    url: str | None = None,
    command: str | None = None,
    timeout: float = NOTIFY_SECONDS,
    environ: Mapping[str, str] | None = None,
) -> list[NotifyFailure]:
    """Deliver `summary` to `url` (one JSON POST) and to `command` (JSON on its stdin); what
    failed, empty when everything arrived. Never raises for a failed delivery."""
    body = json.dumps(summary, ensure_ascii=False, sort_keys=True).encode()
    failures: list[NotifyFailure] = []
    if url is not None:
        failure = post_summary(body, url, timeout)
        if failure is not None:
            failures.append(failure)
    if command is not None:
        failure = run_command(body, command, timeout, os.environ if environ is None else environ)
        if failure is not None:
            failures.append(failure)
    return failures


def post_summary(body: bytes, url: str, timeout: float) -> NotifyFailure | None:
    try:
        checked = require_secure_url(url)
    except InsecureUrlError as refused:
        return NotifyFailure("url", "the notify URL", str(refused))
    target = _shown(checked)
    headers = {"Content-Type": "application/json", "User-Agent": f"kling-batch/{__version__}"}
    try:
        # Redirects are not followed: the next hop would escape the URL check.
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            answer = client.post(checked, content=body, headers=headers)
    except httpx.TimeoutException:
        return NotifyFailure("url", target, f"no answer within {timeout:g} s")
    except httpx.HTTPError as problem:
        return NotifyFailure("url", target, f"{type(problem).__name__}: {problem}")
    if not answer.is_success:
        return NotifyFailure("url", target, f"HTTP {answer.status_code} {answer.reason_phrase}")
    return None


def run_command(
    body: bytes, command: str, timeout: float, environ: Mapping[str, str]
) -> NotifyFailure | None:
    try:
        argv = shlex.split(command)
    except ValueError as problem:
        return NotifyFailure("command", "the notify command", f"cannot split it: {problem}")
    if not argv:
        return NotifyFailure("command", "the notify command", "it is empty")
    target = Path(argv[0]).name
    env = {name: value for name, value in environ.items() if name != API_KEY_ENV}
    try:
        done = subprocess.run(
            argv,
            input=body,
            capture_output=True,  # its output is not ours to print (stdout may be --json's)
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return NotifyFailure("command", target, f"still running after {timeout:g} s; stopped")
    except OSError as problem:
        return NotifyFailure("command", target, f"cannot run it: {problem.strerror or problem}")
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        said = f": {lines[-1][:200]}" if lines else ""
        return NotifyFailure("command", target, f"exited with status {done.returncode}{said}")
    return None


def _shown(url: str) -> str:
    """scheme://host[:port] of `url`: what may be printed of a webhook address."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
