"""How long the runs of an output took, from events.jsonl: a campaign is often run several
times (resumed after Ctrl-C, retried), and the state store keeps no timings of the runs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kling_batch.api.errors import is_throttling_code
from kling_batch.runner.events import EventKind


@dataclass(frozen=True)
class RunTiming:
    """How long the runs of this output took, from events.jsonl."""

    runs: int = 0
    wall_seconds: float | None = None
    retries: int = 0
    throttled: int = 0  # retries the service asked for with 429 Throttling*


def run_timing(events_path: Path) -> RunTiming:
    """Wall time summed over every run in the log; a run cut short (kill -9) counts up to its
    last event.

    Only the lines that can be a run's start or end or a retry are parsed (the log of a large
    batch holds several lines per entry and run); a run cut short looks back for its last
    timestamp. A torn or foreign line counts for nothing, as ever."""
    try:
        lines = events_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return RunTiming()
    runs = 0
    wall = 0.0
    retries = throttled = 0
    started: float | None = None
    last_seen: float | None = None
    seen_at = -1  # the line last_seen is from: what lies after it is looked at when needed

    def last_before(index: int) -> float | None:
        """The timestamp of the last event before line `index` of the run in progress."""
        for number in range(index - 1, seen_at, -1):
            at = _float(_event(lines[number]).get("ts"))
            if at is not None:
                return at
        return last_seen

    for index, line in enumerate(lines):
        if _TIMED.search(line) is None:
            continue  # its timestamp only: read from here when a run turns out cut short
        event = _event(line)
        kind = event.get("event")
        if kind not in _TIMED_KINDS:
            continue
        at = _float(event.get("ts"))
        if kind == EventKind.RUN_STARTED:
            if started is not None:
                wall += max(0.0, (last_before(index) or started) - started)
            runs += 1
            started = last_seen = at
            seen_at = index
            continue
        if at is not None:
            last_seen, seen_at = at, index
        if kind == EventKind.RETRY:
            retries += 1
            code = event.get("code")
            if is_throttling_code(code if isinstance(code, str) else None):
                throttled += 1
        elif kind == EventKind.RUN_FINISHED and started is not None:
            elapsed = _float(event.get("elapsed"))
            wall += elapsed if elapsed is not None else max(0.0, (at or started) - started)
            started = last_seen = None
    if started is not None:
        wall += max(0.0, (last_before(len(lines)) or started) - started)
    return RunTiming(runs, wall if runs else None, retries, throttled)


# The kinds the timing reads, and how each shows in its line (JSON escapes a quote in a value,
# so a value never shows its kind's name between bare quotes unless it is that very name).
_TIMED_KINDS = (EventKind.RUN_STARTED, EventKind.RUN_FINISHED, EventKind.RETRY)
_TIMED = re.compile("|".join(f'"{kind}"' for kind in _TIMED_KINDS))


def _event(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}  # torn by a crash mid-write
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
