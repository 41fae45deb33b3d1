"""In-process runs against the simulator (no sockets, no rate limits): fast and deterministic."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import anyio
import httpx

from kling_batch.api import ApiKey, Pacing, RetryPolicy
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunOptions, RunSummary
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

FAST: dict[str, Any] = {
    "render_seconds": 0.1,
    "render_jitter": 0.0,
    "submit_rate": None,
    "query_rate": None,
    "list_rate": None,
    "cancel_rate": None,
    "policy_rate": None,
}
QUICK_RETRY = RetryPolicy(attempts=2, base_delay=0.0, jitter=0.0, timeout=10.0)


def simulator(**config: Any) -> Simulator:
    return Simulator(SimulatorConfig(**{**FAST, **config}))


def write_manifest(root: Path, body: str, name: str = "batch") -> Manifest:
    path = root / f"{name}.yaml"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return load(path)


def connection(transport: httpx.AsyncBaseTransport) -> Connection:
    return Connection(
        base_url="http://localhost/api/v1",
        api_key=ApiKey("sk-review-tests-0123456789"),
        transport=transport,
        pacing=Pacing(1000, 1000, upload_policies_per_second=1000),
        retry=QUICK_RETRY,
    )


def run(
    manifest: Manifest,
    output: Path,
    transport: httpx.AsyncBaseTransport,
    **options: Any,
) -> RunSummary:
    options.setdefault("poll_interval", 0.05)
    run_options = RunOptions(handle_signals=False, **options)
    return anyio.run(run_manifest, manifest, connection(transport), output, run_options)


def sim_transport(sim: Simulator) -> httpx.AsyncBaseTransport:
    return simulator_transport(sim)


def store(output: Path, name: str = "batch") -> StateStore:
    return StateStore(output / name / "state.sqlite3", readonly=True)


def record(output: Path, entry_id: str, name: str = "batch"):  # type: ignore[no-untyped-def]
    opened = store(output, name)
    try:
        return opened.get(entry_id)
    finally:
        opened.close()


def events(output: Path, name: str = "batch") -> list[dict[str, Any]]:
    import json

    path = output / name / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]
