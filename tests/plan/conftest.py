"""A bench for plan, budget, cancel and expiry: real runs against the simulator on loopback, so
that every state a plan reads was written by `run_manifest` itself.

A run can be stopped at a chosen event (as Ctrl-C or a crash would stop it) to leave an entry in
flight, mid-submit or rendered but not downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.plan import Plan, build_plan
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection
from kling_batch.runner.events import Event
from kling_batch.runner.options import RunSummary
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator
from tests.conftest import FAST as SHARED_FAST
from tests.conftest import (
    QUICK_RETRY,
    StartSimulator,
    loopback,
    make_image,
    run,
    write_manifest,
)

__all__ = ["QUICK_RETRY", "make_image"]

# Renders a little longer than the suite's default: a stop at an event lands before they end.
FAST: dict[str, Any] = {**SHARED_FAST, "render_seconds": 0.15}


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
        return write_manifest(self.root, body, name)

    def reload(self, manifest: Manifest) -> Manifest:
        return load(manifest.path)

    def layout(self, manifest: Manifest) -> OutputLayout:
        return OutputLayout.for_manifest(self.output, manifest.name)

    def connection(self) -> Connection:
        return loopback(self.base_url)

    def run(
        self, manifest: Manifest, *, stop: StopAt | None = None, **options: Any
    ) -> RunSummary | None:
        """Run the manifest to the end (its summary), or until `stop` fires (None)."""
        return run(manifest, self.output, self.connection(), stop=stop, **options)

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
def make_bench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_simulator: StartSimulator
) -> Callable[..., Bench]:
    monkeypatch.delenv("KLING_BATCH_PRICES", raising=False)

    def make(**config: Any) -> Bench:
        simulator, base_url = start_simulator(**{**FAST, **config})
        return Bench(tmp_path, simulator, base_url)

    return make


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
