"""What every part of the suite shares: the simulator as the tests start it, one way to run a
manifest through the runner, and the facts a run leaves on disk.

- `FAST`: the simulator without rate limits or jitter, rendering in 0.1 s; a suite that needs
  another render time says so where it uses it (`{**FAST, "render_seconds": ...}`).
- `start_simulator`: simulators on loopback for one test, with the service's own limits.
- `run` / `run_batch`: a manifest run in-process, as `kling-batch run` does (results and report
  written after), without signal handling; the end-to-end tests run the real CLI instead
  (tests/e2e/conftest.py).
- `StoppedTime`: the runner's `ManualClock` and the simulator's time, moved on together, so a
  test decides when polls wake and renders end instead of sleeping.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import anyio
import httpx
import pytest
from PIL import Image

from kling_batch.api import ApiKey, Pacing, RetryPolicy
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.runner.clock import Clock, ManualClock
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunOptions, RunSummary
from kling_batch.simulator import Simulator, SimulatorConfig, SimulatorServer, simulator_transport

# Quick renders and no rate limits on the simulator's side.
FAST: dict[str, Any] = {
    "render_seconds": 0.1,
    "render_jitter": 0.0,
    "submit_rate": None,
    "query_rate": None,
    "list_rate": None,
    "cancel_rate": None,
    "policy_rate": None,
}
# Two attempts, no waits between them: a test about a fault sees it at once.
QUICK_RETRY = RetryPolicy(attempts=2, base_delay=0.0, jitter=0.0, timeout=10.0)
# The base URL of the in-process simulator (`simulator_transport`).
IN_PROCESS_URL = "http://localhost/api/v1"
RUN_KEY = "sk-run-tests-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the simulator ----------------------------------------------------------------------------


def fast_simulator(**config: Any) -> Simulator:
    """An in-process simulator with `FAST`'s settings, changed by `config`."""
    return Simulator(SimulatorConfig(**{**FAST, **config}))


class Sim(NamedTuple):
    """A simulator serving on loopback; unpacks as `simulator, base_url`."""

    simulator: Simulator
    base_url: str


StartSimulator = Callable[..., Sim]


@pytest.fixture
def start_simulator() -> Iterator[StartSimulator]:
    """start_simulator(**config) -> a `Sim` on 127.0.0.1 (port 0); all stop when the test ends.

    The service's own limits apply (rates, slots) unless `config` changes them; renders take
    0.3 s by default, so that a task finishes within a test."""
    servers: list[SimulatorServer] = []

    def start(**config: Any) -> Sim:
        config.setdefault("render_seconds", 0.3)
        server = SimulatorServer(Simulator(SimulatorConfig(**config)), host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return Sim(server.simulator, server.base_url)

    yield start
    for server in servers:
        server.stop()


# -- manifests and what a run leaves ---------------------------------------------------------


def write_manifest_file(root: Path, body: str, name: str = "batch") -> Path:
    """`body` (indented as in the test) as `root/<name>.yaml`."""
    path = root / f"{name}.yaml"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def write_manifest(root: Path, body: str, name: str = "batch") -> Manifest:
    return load(write_manifest_file(root, body, name))


def make_image(path: Path, colour: tuple[int, int, int] = (200, 120, 40)) -> Path:
    """A 640x360 image the service takes as a first frame."""
    Image.new("RGB", (640, 360), colour).save(path)
    return path


def read_events(path: Path) -> list[dict[str, Any]]:
    """The lines of an events.jsonl (docs/events.md), oldest first; none before it exists."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(errors="replace").splitlines() if line]


def count_events(path: Path, event: str, **fields: Any) -> int:
    """How many lines of events.jsonl are `event` with these field values."""
    return sum(
        1
        for line in read_events(path)
        if line["event"] == event and all(line.get(k) == v for k, v in fields.items())
    )


async def until_logged(
    path: Path, event: str, count: int = 1, *, timeout: float = 10.0, **fields: Any
) -> None:
    """Wait until events.jsonl holds `count` lines of `event` (how an in-process test catches a
    run at a given step)."""
    with anyio.fail_after(timeout):
        while count_events(path, event, **fields) < count:
            await anyio.sleep(0.01)


# -- running a manifest ----------------------------------------------------------------------


def fast_pacing() -> Pacing:
    """For runs that are not about pacing (their simulator's limits are off or generous)."""
    return Pacing(1000.0, 1000.0, upload_policies_per_second=1000.0)


def in_process(via: Simulator | httpx.AsyncBaseTransport) -> Connection:
    """A connection to an in-process simulator (or a transport wrapping one): fast pacing, quick
    retries, no sockets."""
    transport = simulator_transport(via) if isinstance(via, Simulator) else via
    return Connection(
        base_url=IN_PROCESS_URL,
        api_key=ApiKey(RUN_KEY),
        transport=transport,
        pacing=fast_pacing(),
        retry=QUICK_RETRY,
    )


def loopback(base_url: str) -> Connection:
    """A connection to a simulator on loopback: fast pacing, quick retries."""
    return Connection(
        base_url=base_url, api_key=ApiKey(RUN_KEY), pacing=fast_pacing(), retry=QUICK_RETRY
    )


class Stop(Protocol):
    """An event sink that cancels `scope` (set by the harness) when the run reaches a chosen
    step, as Ctrl-C or a crash would stop it there (tests/plan/conftest.py: StopAt)."""

    scope: anyio.CancelScope | None

    def emit(self, event: Any) -> None: ...


async def run_batch(
    manifest: Manifest,
    output: Path,
    via: Connection | httpx.AsyncBaseTransport,
    *,
    stop: Stop | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> RunSummary | None:
    """Run `manifest` into `output` as `kling-batch run` would, without signal handling.

    Returns the run's summary, or None when `stop` stopped it first. `options` are RunOptions
    fields; polls are 0.05 s apart unless they say otherwise."""
    connection = via if isinstance(via, Connection) else in_process(via)
    options.setdefault("poll_interval", 0.05)
    run_options = RunOptions(handle_signals=False, **options)
    with anyio.CancelScope() as scope:
        if stop is not None:
            stop.scope = scope
        return await run_manifest(
            manifest,
            connection,
            output,
            run_options,
            [stop] if stop is not None else [],
            clock=clock,
        )
    return None


def run(
    manifest: Manifest,
    output: Path,
    via: Connection | httpx.AsyncBaseTransport,
    *,
    stop: Stop | None = None,
    **options: Any,
) -> RunSummary | None:
    """`run_batch` in its own event loop, on the system clock."""

    async def go() -> RunSummary | None:
        return await run_batch(manifest, output, via, stop=stop, **options)

    return anyio.run(go)


# -- time ------------------------------------------------------------------------------------


class StoppedTime:
    """Time that moves only when the test says: the runner's clock and the simulator's.

    Give `clock` to the run and make the simulator with `frozen()` settings: a poll then wakes,
    and a render ends, only when `advance` has moved both far enough. Make it inside the test's
    event loop (a ManualClock waits on an anyio event)."""

    def __init__(self, simulator: Simulator) -> None:
        # The state store stamps records with this machine's clock: start from it, so that a
        # task the run just created is as young on both clocks.
        self.clock = ManualClock(start=time.time())
        self.simulator = simulator
        self.moved = 0.0

    @staticmethod
    def frozen(**config: Any) -> dict[str, Any]:
        """Simulator settings under which its time moves only by `advance` (well, by a
        nanosecond per second of real time)."""
        return {**FAST, "speed": 1e-9, **config}

    async def advance(self, seconds: float) -> None:
        """Once every task of the loop waits (the run has gone as far as it can without time),
        move both clocks on: a task not yet asleep would otherwise sleep from the new time."""
        await anyio.wait_all_tasks_blocked()
        self.clock.advance(seconds)
        self.simulator.advance(seconds)
        self.moved += seconds
