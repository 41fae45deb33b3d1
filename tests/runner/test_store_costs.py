"""What a render costs the disk, and what a finished output costs to resume: the state store's
statements and sync points per entry, the fsyncs of ours, and no request at all for an output
that is done. Each figure is observed, not mocked: every connection the run opens reports its
statements (sqlite3's trace callback), and os.fsync is counted on its way through."""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from kling_batch.api import ApiKey, Pacing
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunOptions
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

ENTRIES = 12
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@dataclass
class Observed:
    statements: list[tuple[int, str]] = field(default_factory=list)  # (connection, text)
    fsyncs: int = 0

    def durable_commits(self) -> int:
        """Commits that wrote something on a connection set to synchronous=FULL: each is one
        fsync of the WAL (see bench/store_io.py for the rules)."""
        full: set[int] = set()
        open_writes: dict[int, bool] = {}
        commits = 0
        for connection, text in self.statements:
            statement = " ".join(text.split()).upper()
            if statement.startswith("PRAGMA SYNCHRONOUS=FULL"):
                full.add(connection)
            elif statement.startswith("BEGIN"):
                open_writes[connection] = False
            elif statement.startswith("COMMIT"):
                commits += connection in full and open_writes.pop(connection, False)
            elif statement.startswith(_WRITES):
                if connection in open_writes:
                    open_writes[connection] = True
                else:
                    commits += connection in full
        return commits


@contextmanager
def observed() -> Iterator[Observed]:
    seen = Observed()
    connect, fsync = sqlite3.connect, os.fsync
    numbers = itertools.count()

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        index = next(numbers)
        db.set_trace_callback(lambda text: seen.statements.append((index, text)))
        return db

    def counted(fd: Any) -> None:
        seen.fsyncs += 1
        fsync(fd)

    sqlite3.connect = traced  # type: ignore[assignment]
    os.fsync = counted
    try:
        yield seen
    finally:
        sqlite3.connect, os.fsync = connect, fsync


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)


def _manifest(folder: Path, entries: int = ENTRIES) -> Path:
    shots = "".join(
        f"  - {{id: s-{n:02d}, prompt: a paper boat take {n}}}\n" for n in range(entries)
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "batch.yaml"
    path.write_text(
        'version: 1\nname: batch\ndefaults: {mode: std, duration: 5, aspect_ratio: "16:9"}\n'
        f"shots:\n{shots}",
        encoding="utf-8",
    )
    return path


def _run(manifest: Path, output: Path, transport: httpx.AsyncBaseTransport) -> None:
    connection = Connection(
        "http://localhost/api/v1",
        ApiKey("sk-store-costs-0123456789"),
        transport=transport,
        pacing=Pacing(1000, 1000),
    )
    options = RunOptions(poll_interval=0.05, handle_signals=False)
    summary = anyio.run(run_manifest, load(manifest), connection, output, options)
    assert summary.all_done


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(
        SimulatorConfig(render_seconds=0.2, render_jitter=0.0, submit_rate=None, query_rate=None)
    )


def test_a_plain_render_stays_within_its_statements_and_syncs(
    tmp_path: Path, simulator: Simulator
) -> None:
    # Per entry is what one more entry costs: a run of a few entries is set against one of
    # more, so that what every run pays once (the store's creation, the world) drops out.
    seen = {}
    for entries in (ENTRIES // 2, ENTRIES + ENTRIES // 2):
        folder = tmp_path / str(entries)
        with observed() as seen[entries]:
            _run(_manifest(folder, entries), folder / "out", simulator_transport(simulator))
    few, more = seen[ENTRIES // 2], seen[ENTRIES + ENTRIES // 2]

    statements = (len(more.statements) - len(few.statements)) / ENTRIES
    assert statements <= 8, f"{statements:.1f} statements per entry"
    # One durable commit per entry (its intent, before the create), one fsync of ours (its
    # video, before the rename); nothing else waits for the disk.
    assert more.durable_commits() - few.durable_commits() == ENTRIES
    assert more.fsyncs - few.fsyncs == ENTRIES
    intents = [t for _, t in more.statements if re.match(r"\s*INSERT INTO entries", t)]
    assert len(intents) == ENTRIES + ENTRIES // 2


def test_a_finished_output_resumes_without_a_single_request(
    tmp_path: Path, simulator: Simulator
) -> None:
    manifest, output = _manifest(tmp_path), tmp_path / "out"
    _run(manifest, output, simulator_transport(simulator))

    again = Counting(simulator_transport(simulator))
    with observed() as seen:
        _run(manifest, output, again)

    assert again.requests == 0
    writes = [t for _, t in seen.statements if t.lstrip().upper().startswith(_WRITES)]
    assert writes == []  # nothing to change: the store is only read, once
    assert seen.fsyncs == 0


def test_a_kept_video_rewritten_at_once_is_fetched_again(
    tmp_path: Path, simulator: Simulator
) -> None:
    # Overwritten in place right after the run, same size, within the file system's clock
    # tick: its stamp must still tell it from the file that was verified.
    manifest, output = _manifest(tmp_path, 1), tmp_path / "out"
    _run(manifest, output, simulator_transport(simulator))
    video = output / "batch" / "s-00" / "video.mp4"
    kept = video.read_bytes()
    with video.open("r+b") as handle:
        handle.seek(len(kept) - 4)
        handle.write(b"\0\0\0\0" if kept[-4:] != b"\0\0\0\0" else b"\1\1\1\1")

    again = Counting(simulator_transport(simulator))
    _run(manifest, output, again)

    assert again.requests >= 1  # fetched again (fresh URLs first, if it had to)
    assert video.read_bytes() == kept
