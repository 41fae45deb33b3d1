"""How a run shows itself: plain lines for logs and pipes, JSON lines for scripts."""

from __future__ import annotations

import json
import time
from typing import TextIO

import click

from kling_batch.runner.events import Event, EventKind

# The events a person watching a plain log wants; polls and retries stay in events.jsonl.
_PLAIN_KINDS = frozenset(EventKind) - {EventKind.POLL, EventKind.UPLOAD}


class JsonLines:
    """`--json`: every event, one JSON object per line, as in events.jsonl."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        self._stream.write(json.dumps(event.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        self._stream.flush()


class PlainLines:
    """One short line per notable event, for a log file or a CI console."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        if event.kind not in _PLAIN_KINDS:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        who = f" {event.entry_id}" if event.entry_id else ""
        details = " ".join(f"{k}={v}" for k, v in event.data.items() if k != "message")
        message = event.data.get("message")
        line = f"{stamp} {event.kind}{who} {details}".rstrip()
        if message:
            line += f": {message}"
        click.echo(line, file=self._stream)
