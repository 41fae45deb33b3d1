"""A bench for plan, budget, cancel and expiry: real runs against the simulator on loopback, so
that every state a plan reads was written by `run_manifest` itself.

A run can be stopped at a chosen event (as Ctrl-C or a crash would stop it) to leave an entry in
flight, mid-submit or rendered but not downloaded.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from kling_batch.api import ApiKey, Pacing, RetryPolicy
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.plan import Plan, build_plan
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection
from kling_batch.runner.events import Event
from kling_batch.runner.options import RunOptions, RunSummary
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator, SimulatorConfig, SimulatorServer

# Quick renders, no rate limits on either side, no waits between retries.
FAST: dict[str, Any] = {
    "render_seconds": 0.15,
    "render_jitter": 0.0,
    "submit_rate": None,
    "query_rate": None,
    "list_rate": None,
    "cancel_rate": None,
    "policy_rate": None,
}
QUICK_RETRY = RetryPolicy(attempts=2, base_delay=0.0, jitter=0.0, timeout=10.0)


def make_image(path: Path, colour: tuple[int, int, int] = (200, 120, 40)) -> Path:
    Image.new("RGB", (640, 360), colour).save(path)
    return path


@dataclass
class StopAt:
    """An event sink that stops the run (cancels its scope) at the `count`-th matching event,
    the way Ctrl-C or a crash would stop it there."""

    matches: Callable[[Event], bool]
    count: int = 1
    scope: anyio.CancelScope | None = None  # made inside the run's event loop
    seen: int = 0

    def emit(self, event: Event) -> None:
        if self.matches(event):
            self.seen += 1
            if self.seen >= self.count and self.scope is not None:
                self.scope.cancel()


def at(kind: type[Event], **fields: Any) -> Callable[[Event], bool]:
    """Events of this class whose fields have these values."""
    return lambda event: (
        isinstance(event, kind)
        and all(getattr(event, name) == value for name, value in fields.items())
    )


@dataclass
class Bench:
    root: Path
    simulator: Simulator
    base_url: str  # a SimulatorServer on loopback: real sockets, so a stop lands where it is asked

    @property
    def output(self) -> Path:
        return self.root / "out"

    def manifest(self, body: str, name: str = "batch") -> Manifest:
        path = self.root / f"{name}.yaml"
        path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
        return load(path)

    def reload(self, manifest: Manifest) -> Manifest:
        return load(manifest.path)

    def layout(self, manifest: Manifest) -> OutputLayout:
        return OutputLayout.for_manifest(self.output, manifest.name)

    def connection(self) -> Connection:
        return Connection(
            base_url=self.base_url,
            api_key=ApiKey("sk-plan-tests-0123456789"),
            pacing=Pacing(1000, 1000, upload_policies_per_second=1000),
            retry=QUICK_RETRY,
        )

    def run(
        self, manifest: Manifest, *, stop: StopAt | None = None, **options: Any
    ) -> RunSummary | None:
        """Run the manifest to the end (its summary), or until `stop` fires (None)."""
        options.setdefault("poll_interval", 0.05)
        run_options = RunOptions(handle_signals=False, **options)

        async def go() -> RunSummary | None:
            scope = anyio.CancelScope()
            if stop is not None:
                stop.scope = scope
            with scope:
                return await run_manifest(
                    manifest, self.connection(), self.output, run_options, [stop] if stop else []
                )
            return None

        return anyio.run(go)

    @contextmanager
    def store(self, manifest: Manifest) -> Iterator[StateStore]:
        store = StateStore(self.layout(manifest).state)
        try:
            yield store
        finally:
            store.close()

    def plan(self, manifest: Manifest, **options: Any) -> Plan:
        prices = options.pop("prices", None) or PriceTable.load()
        layout = self.layout(manifest)
        if not layout.state.exists():
            return build_plan(manifest, layout, None, prices, **options)
        with self.store(manifest) as store:
            return build_plan(manifest, layout, store, prices, **options)


MakeBench = Callable[..., Bench]


@pytest.fixture
def make_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Bench]]:
    monkeypatch.delenv("KLING_BATCH_PRICES", raising=False)
    servers: list[SimulatorServer] = []

    def make(**config: Any) -> Bench:
        simulator = Simulator(SimulatorConfig(**{**FAST, **config}))
        server = SimulatorServer(simulator, host="127.0.0.1", port=0)
        server.__enter__()
        servers.append(server)
        return Bench(tmp_path, simulator, server.base_url)

    yield make
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def bench(make_bench: Callable[..., Bench]) -> Bench:
    return make_bench()


# One shot with a local first frame (`start.png` in the bench's root), shared by the plan and
# expiry tests.
LOCAL_FLOWER = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3}
    shots:
      - id: flower
        prompt: a flower opens
        media:
          - {type: first_frame, path: start.png}
"""
