"""Where and how a command reaches DashScope (or the simulator), and the world it claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from kling_batch.api import (
    ApiError,
    ApiKey,
    DashScopeClient,
    MemoryUploadCache,
    Pacing,
    RetryNotice,
    RetryPolicy,
    UploadCache,
)
from kling_batch.api.types import TaskStatus
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import World, reconcile_worlds, world_of


@dataclass(frozen=True)
class Connection:
    """Where and how to reach DashScope (or the simulator)."""

    base_url: str
    api_key: ApiKey
    transport: httpx.AsyncBaseTransport | None = None
    pacing: Pacing | None = None
    retry: RetryPolicy | None = None
    in_process: bool = False  # the --simulate simulator: its tasks end with the process

    @property
    def world(self) -> World:
        return world_of(self.base_url, self.api_key, in_process=self.in_process)

    def client(
        self, store: StateStore, world: World, on_retry: Callable[[RetryNotice], None] | None = None
    ) -> DashScopeClient:
        """A client of this connection whose uploads are remembered for `world` in `store`."""
        return DashScopeClient(
            self.base_url,
            self.api_key,
            transport=self.transport,
            pacing=self.pacing,
            retry=self.retry,
            upload_cache=upload_cache(store, world),
            on_retry=on_retry,
        )


async def bind_output(store: StateStore, connection: Connection, folder: Path) -> World:
    """Claim an output for the connection's world, or raise WorldMismatch (no create sent)."""
    recorded = store.world()
    current = connection.world
    # A store from before worlds were recorded, with tasks but no video yet: if this service
    # knows one of its tasks, they were made here, and are real.
    undecided = recorded is not None and recorded.simulated is None and not current.simulated
    if undecided and await _knows_a_task_of(store, connection):
        recorded = World(None, False, None)
    world = reconcile_worlds(recorded, current, folder)
    store.record_world(world)
    return world


async def _knows_a_task_of(store: StateStore, connection: Connection) -> bool:
    """One query, without retries: does the service know a task this store recorded?"""
    task_ids = sorted(store.claimed_task_ids())
    if not task_ids:
        return False
    probe = DashScopeClient(
        connection.base_url,
        connection.api_key,
        transport=connection.transport,
        pacing=connection.pacing,
        retry=RetryPolicy(attempts=1),
    )
    async with probe:
        try:
            task = await probe.get_task(task_ids[-1])
        except ApiError:
            return False  # unreachable or refused: cannot tell, so the refusal stands
    return task.status is not TaskStatus.UNKNOWN


def upload_cache(store: StateStore, world: World) -> UploadCache:
    """Where uploads are remembered: per world in the store, in memory for a service whose
    objects end with the process."""
    return MemoryUploadCache() if world.in_process else store.uploads_of(world)
