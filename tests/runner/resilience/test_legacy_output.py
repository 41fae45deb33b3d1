"""A store from before worlds were recorded, caught with a task in flight, is claimed or refused
by asking the service once.

The fault: the store cannot say whether it was simulated (it holds no video URL yet). The
promise: a real service that knows its task claims the output, and the run polls that task
instead of paying again; one that does not know it is refused, with nothing sent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from kling_batch.api import ApiKey, DashScopeClient
from kling_batch.manifest import fingerprint, request_body
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import WorldMismatch

from .helpers import QUICK_RETRY, connection, run, sim_transport, simulator, write_manifest

SHOT = """
    version: 1
    name: batch
    defaults: {mode: std, aspect_ratio: "16:9", duration: 3}
    shots:
      - {id: cat, prompt: a cat under the moon}
"""
# A "real" service: https, so not taken for a simulator by its address.
REAL = "https://dashscope.test/api/v1"


def _legacy_output_in_flight(tmp_path: Path, sim_task_maker: DashScopeClient | None) -> Path:
    """An output with cat's task in flight, as an older kling-batch left it (no world)."""
    manifest = write_manifest(tmp_path, SHOT)
    entry = manifest.entry("cat")
    body = request_body(entry)
    task = anyio.run(_create, sim_task_maker, body) if sim_task_maker else None
    output = tmp_path / "out"
    store = StateStore(output / "batch" / "state.sqlite3")
    store.record_intent(
        "cat",
        fingerprint=fingerprint(entry),
        model=entry.model,
        body_sha256="b",
        basis=EchoBasis.of_body(body),
    )
    store.record_submitted("cat", task or _unknown_task())
    store.close()
    with sqlite3.connect(output / "batch" / "state.sqlite3") as db:
        db.execute("DELETE FROM world")
    return output


async def _create(client: DashScopeClient, body: dict[str, object]):  # type: ignore[no-untyped-def]
    async with client:
        return await client.create_task(body)


def _unknown_task():  # type: ignore[no-untyped-def]
    from kling_batch.api.types import Task, TaskStatus

    return Task("made-elsewhere-0001", TaskStatus.PENDING)


def test_a_real_service_that_knows_the_task_claims_the_output(tmp_path: Path) -> None:
    sim = simulator()
    conn = replace(connection(sim_transport(sim)), base_url=REAL)
    maker = DashScopeClient(REAL, conn.api_key, transport=sim_transport(sim), retry=QUICK_RETRY)
    output = _legacy_output_in_flight(tmp_path, maker)
    manifest = write_manifest(tmp_path, SHOT)

    summary = run(manifest, output, conn)

    assert summary.all_done
    assert sim.stats().creates == 1  # the task in flight was polled, not paid for again
    store = StateStore(output / "batch" / "state.sqlite3", readonly=True)
    world = store.world()
    store.close()
    assert world is not None and world.complete and world.simulated is False


def test_a_service_that_does_not_know_the_task_is_refused(tmp_path: Path) -> None:
    sim = simulator()
    conn = replace(
        connection(sim_transport(sim)), base_url=REAL, api_key=ApiKey("sk-another-0123456789")
    )
    output = _legacy_output_in_flight(tmp_path, None)
    manifest = write_manifest(tmp_path, SHOT)

    with pytest.raises(WorldMismatch, match="cannot tell whether its videos are real"):
        run(manifest, output, conn)
    assert sim.stats().creates == 0
