"""In-process runs against the simulator (no sockets, no rate limits): fast and deterministic.

The names the resilience tests use, over the suite's shared harness (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from kling_batch.manifest.model import Manifest
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunSummary
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator, simulator_transport
from tests.conftest import (
    FAST,
    QUICK_RETRY,
    fast_simulator,
    in_process,
    read_events,
    write_manifest,
)
from tests.conftest import run as run_in_process

__all__ = [
    "FAST",
    "QUICK_RETRY",
    "connection",
    "events",
    "record",
    "run",
    "sim_transport",
    "simulator",
    "store",
    "write_manifest",
]

simulator = fast_simulator
connection = in_process


def run(
    manifest: Manifest,
    output: Path,
    transport: httpx.AsyncBaseTransport | Connection,
    **options: Any,
) -> RunSummary:
    summary = run_in_process(manifest, output, transport, **options)
    assert summary is not None  # no stop was asked for
    return summary


def sim_transport(sim: Simulator) -> httpx.AsyncBaseTransport:
    return simulator_transport(sim)


def store(output: Path, name: str = "batch") -> StateStore:
    return StateStore(output / name / "state.sqlite3", readonly=True)


def record(output: Path, entry_id: str, name: str = "batch") -> EntryRecord | None:
    opened = store(output, name)
    try:
        return opened.get(entry_id)
    finally:
        opened.close()


def events(output: Path, name: str = "batch") -> list[dict[str, Any]]:
    return read_events(output / name / "events.jsonl")
