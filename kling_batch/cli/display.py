"""How a run shows itself: a live panel on a terminal, plain lines for logs and pipes, JSON
lines for scripts (`open_display` picks one the way a user expects), and the lines it ends with
(`closing_lines`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click
from rich.console import Console

from kling_batch.cli.live import LiveDisplay
from kling_batch.cli.tally import RunTally
from kling_batch.entry_status import Status
from kling_batch.manifest.model import Manifest
from kling_batch.notify import NotifyFailure
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import money
from kling_batch.runner.events import EntryEvent, Event, EventSink, NotifyFailed, Poll, Upload
from kling_batch.runner.options import RunSummary
from kling_batch.runner.records import EntryState

_NAMED = 5  # entries named in a closing line; the report lists them all


class JsonLines:
    """`--json`: every event, one JSON object per line, as in events.jsonl."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        self._stream.write(event.line() + "\n")
        self._stream.flush()


class PlainLines:
    """One short line per notable event, for a log file or a CI console."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        if isinstance(event, Poll | Upload):
            return  # the steps a person watching a plain log can do without
        if isinstance(event, NotifyFailed):
            return  # the run's closing lines say it, once
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        who = f" {event.entry_id}" if isinstance(event, EntryEvent) else ""
        fields = event.details()
        message = fields.pop("message", None)  # last, after a colon: it may hold spaces
        details = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{stamp} {event.kind}{who} {details}".rstrip()
        if message:
            line += f": {message}"
        click.echo(line, file=self._stream)


def choose_sink(
    *,
    as_json: bool,
    manifest: Manifest | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> EventSink:
    """`--json`: JSON lines on stdout. Otherwise on stderr, which keeps stdout for data: the
    live panel when stderr is a terminal that can redraw in place, else plain lines."""
    if as_json:
        return JsonLines(stdout or sys.stdout)
    stream = stderr or sys.stderr
    console = Console(file=stream)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveDisplay(manifest, console=console)
    return PlainLines(stream)


@contextmanager
def open_display(
    *,
    as_json: bool,
    manifest: Manifest | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Iterator[EventSink]:
    """`choose_sink`, closed on the way out whatever happens (an exception, Ctrl-C), so a live
    panel always gives the terminal back before anything else is printed."""
    sink = choose_sink(as_json=as_json, manifest=manifest, stdout=stdout, stderr=stderr)
    try:
        yield sink
    finally:
        if isinstance(sink, LiveDisplay):
            sink.close()


def closing_lines(
    summary: RunSummary, tally: RunTally, billed: Status, layout: OutputLayout, *, brief: bool
) -> list[str]:
    """What a run ends with, on stderr: how far it got (or that it had nothing to do), why it
    stopped or what it left undone, notifications that failed, and last what it cost and where
    the report is. `brief` (with --json, where the events were the output): only the problems.
    """
    lines: list[str] = []
    total, done = len(summary.states), summary.count(EntryState.DONE)
    stopped = summary.fatal is not None or summary.interrupted
    if not brief:
        where = f"output in {layout.folder}"
        if tally.worked == 0 and not stopped:
            if summary.all_done:
                lines.append(f"nothing to do: {done} of {total} already done; {where}")
            else:
                lines.append(f"nothing sent: {done} of {total} done; {where}")
        else:
            lines.append(f"{done} of {total} entries done in {summary.elapsed:.1f} s; {where}")
    if summary.fatal:
        lines.append(f"error: stopped: {summary.fatal}")
    elif summary.interrupted:
        lines.append("interrupted: state saved; run the same command again to resume")
    if summary.over_budget:
        lines.append(
            f"not sent, over the budget: {', '.join(summary.over_budget)}; "
            "raise the limit with --max-cost to render them"
        )
    left = [
        f"{entry_id} ({'not reached' if state is None else state})"
        for entry_id, state in summary.states.items()
        if state is not EntryState.DONE and entry_id not in summary.over_budget
    ]
    if left and not stopped:
        more = f" and {len(left) - _NAMED} more" if len(left) > _NAMED else ""
        lines.append(f"not done: {', '.join(left[:_NAMED])}{more}; the report says what to do next")
    for failed in tally.notify_failures:
        lines.append(f"warning: {NotifyFailure(failed.channel, failed.target, failed.reason)}")
    if brief:
        return lines
    cost, count = billed.billed
    this_run = (
        f"{'~' if tally.billed_estimated else ''}{money(tally.cost, billed.currency)} in this run"
        if tally.billed_seconds
        else "nothing in this run"
    )
    lines.append(
        f"cost: {money(cost, billed.currency)} billed for {count} of {total} entries ({this_run})"
    )
    lines.append(f"report: {layout.report}" if layout.report.exists() else "no report written")
    return lines
