"""How a run shows itself: a live panel on a terminal, plain lines for logs and pipes, JSON
lines for scripts. `open_display` picks one the way a user expects.
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
from kling_batch.manifest.model import Manifest
from kling_batch.runner.events import EntryEvent, Event, EventSink, Poll, Upload


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
