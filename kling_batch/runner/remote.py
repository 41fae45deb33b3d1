"""Asking the service about a manifest's tasks outside a run: `plan --refresh` and `cancel`.

Both hold the output's run lock, as `run` does: only one process writes an output's state. What
they learn goes into the state store through the same transition (`task_seen`) a run uses, and
each answer into the entry's task.json and polls.jsonl. An account error (bad key, arrears)
stops them and is raised as is; any other failure is reported for its entry and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import anyio

from kling_batch.api import (
    AccountError,
    ApiError,
    CancelRefused,
    DashScopeClient,
)
from kling_batch.api.types import Task, TaskStatus
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection, bind_output
from kling_batch.runner.lock import RunLock
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import write_results
from kling_batch.runner.state import StateStore
from kling_batch.runner.transitions import task_seen
from kling_batch.runner.world import World

# Queries and cancels in flight at once; the client paces them under the service's rates.
_PARALLEL = 8


@dataclass(frozen=True)
class _Session:
    layout: OutputLayout
    store: StateStore
    client: DashScopeClient
    world: World

    def keep(self, entry_id: str, task: Task) -> EntryRecord:
        self.layout.keep_task_answer(entry_id, task)
        record = self.store.get(entry_id)
        assert record is not None
        return self.store.apply(entry_id, task_seen(record, task, time.time()))


@asynccontextmanager
async def _session(
    manifest: Manifest, connection: Connection, output_root: Path, prices: PriceTable | None
) -> AsyncIterator[_Session]:
    layout = OutputLayout.for_manifest(output_root, manifest.name)
    with RunLock(layout.folder):
        store = StateStore(layout.state)
        try:
            world = await bind_output(store, connection, layout.folder)
        except BaseException:
            store.close()
            raise
        try:
            client = connection.client(store, world)
            async with client:
                yield _Session(layout, store, client, world)
        finally:
            write_results(layout, manifest, store, prices)
            store.close()


# States of an entry `cancel` reports on: a task the service may still hold.
_CANCEL_STATES = frozenset({EntryState.IN_FLIGHT, EntryState.SUBMITTING, EntryState.UNKNOWN})


def waiting(layout: OutputLayout, entries: Sequence[Entry], *, cancel: bool = False) -> list[str]:
    """The entries with a task in flight (`cancel`: or an unsettled submission), read from the
    state store alone: whether `plan --refresh` or `cancel` has anything to ask the service."""
    if not layout.state.exists():
        return []
    wanted = _CANCEL_STATES if cancel else frozenset({EntryState.IN_FLIGHT})
    store = StateStore(layout.state, readonly=True)
    try:
        records = [store.get(entry.id) for entry in entries]
    finally:
        store.close()
    return [r.entry_id for r in records if r is not None and r.state in wanted]


def _in_flight(store: StateStore, entries: Sequence[Entry]) -> list[EntryRecord]:
    """The records of `entries` whose task the service holds and this machine waits on."""
    records = [store.get(entry.id) for entry in entries]
    return [
        record
        for record in records
        if record is not None and record.state is EntryState.IN_FLIGHT and record.task_id
    ]


async def _for_each(
    records: Sequence[EntryRecord], work: Callable[[EntryRecord], Awaitable[None]]
) -> None:
    """`work` on every record, a few at a time; the first account error stops them all."""
    limiter = anyio.CapacityLimiter(_PARALLEL)
    fatal: list[AccountError] = []
    async with anyio.create_task_group() as group:

        async def one(record: EntryRecord) -> None:
            async with limiter:
                try:
                    await work(record)
                except AccountError as error:
                    fatal.append(error)
                    group.cancel_scope.cancel()

        for record in records:
            group.start_soon(one, record)
    if fatal:
        raise fatal[0]  # as itself, not in an exception group: callers catch it by class


# -- plan --refresh ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    entry_id: str
    task_id: str
    status: TaskStatus | None  # None: the service could not be asked; nothing changed
    problem: str | None = None


async def refresh_in_flight(
    manifest: Manifest,
    entries: Sequence[Entry],
    connection: Connection,
    output_root: Path,
    prices: PriceTable | None = None,
) -> tuple[Refreshed, ...]:
    """Query every task in flight among `entries` once, and record what the service says."""
    async with _session(manifest, connection, output_root, prices) as session:
        if session.world.in_process:
            return ()  # a fresh in-process simulator knows none of the tasks: nothing to ask
        targets = _in_flight(session.store, entries)
        results: dict[str, Refreshed] = {}

        async def refresh(record: EntryRecord) -> None:
            assert record.task_id is not None
            try:
                task = await session.client.get_task(record.task_id)
            except AccountError:
                raise
            except ApiError as error:
                results[record.entry_id] = Refreshed(
                    record.entry_id, record.task_id, None, str(error)
                )
                return
            session.keep(record.entry_id, task)
            results[record.entry_id] = Refreshed(record.entry_id, record.task_id, task.status)

        await _for_each(targets, refresh)
    return tuple(results[record.entry_id] for record in targets)


# -- cancel -----------------------------------------------------------------------------------


class CancelOutcome(StrEnum):
    CANCELED = "canceled"
    TOO_LATE = "too-late"  # running or ended: DashScope cancels only PENDING tasks
    NO_TASK = "no-task"  # an unsettled submission: no task id to cancel yet
    UNREACHED = "unreached"  # the service could not be asked about it; nothing changed


@dataclass(frozen=True)
class Cancellation:
    entry_id: str
    outcome: CancelOutcome
    task_id: str | None = None
    status: TaskStatus | None = None  # the task's status as last learned
    message: str = ""


async def cancel_pending(
    manifest: Manifest,
    entries: Sequence[Entry],
    connection: Connection,
    output_root: Path,
    prices: PriceTable | None = None,
) -> tuple[Cancellation, ...]:
    """Cancel the tasks of `entries` that are still PENDING remotely; in manifest order.

    Every entry this machine knows to be in flight is tried, since its last-seen status may be
    stale; the service refuses those already running or ended, and each of those is queried so
    that the state store learns where it stands. Entries whose submission is unsettled have no
    task id: they are reported, as `run` has to settle them first.
    """
    async with _session(manifest, connection, output_root, prices) as session:
        if session.world.in_process:
            return ()  # the in-process simulator's tasks ended with the run that made them
        outcomes: dict[str, Cancellation] = {}
        for entry in entries:
            record = session.store.get(entry.id)
            if record is not None and record.state in (EntryState.SUBMITTING, EntryState.UNKNOWN):
                outcomes[entry.id] = Cancellation(
                    entry.id,
                    CancelOutcome.NO_TASK,
                    message="its submission is unsettled (no task id yet): `run` settles it",
                )

        async def cancel(record: EntryRecord) -> None:
            outcomes[record.entry_id] = await _cancel_one(session, record)

        await _for_each(_in_flight(session.store, entries), cancel)
    return tuple(outcomes[entry.id] for entry in entries if entry.id in outcomes)


async def _cancel_one(session: _Session, record: EntryRecord) -> Cancellation:
    entry_id, task_id = record.entry_id, record.task_id
    assert task_id is not None
    try:
        await session.client.cancel_task(task_id)
    except CancelRefused as refused:
        # Running or ended; or this very cancel succeeded on an earlier try whose answer was
        # lost (see DashScopeClient.cancel_task): the task's status tells which.
        return await _learn(session, record, refused.message)
    except AccountError:
        raise
    except ApiError as error:
        return Cancellation(
            entry_id, CancelOutcome.UNREACHED, task_id, record.task_status, str(error)
        )
    return await _learn(session, record, None)


async def _learn(session: _Session, record: EntryRecord, refusal: str | None) -> Cancellation:
    """Query a task after its cancel, record it, and say how the cancel ended."""
    entry_id, task_id = record.entry_id, record.task_id
    assert task_id is not None
    try:
        task = await session.client.get_task(task_id)
    except AccountError:
        raise
    except ApiError as error:
        if refusal is not None:
            return Cancellation(
                entry_id, CancelOutcome.UNREACHED, task_id, record.task_status, str(error)
            )
        # The service accepted the cancel: that is enough to record it.
        task = Task(task_id=task_id, status=TaskStatus.CANCELED)
    session.keep(entry_id, task)
    if task.status is TaskStatus.CANCELED:
        return Cancellation(entry_id, CancelOutcome.CANCELED, task_id, task.status)
    if refusal is None:
        # Accepted, yet the task went on: the query came after the render began. Rare enough to
        # report plainly rather than guess.
        refusal = "the service accepted the cancel, but the task went on"
    return Cancellation(
        entry_id,
        CancelOutcome.TOO_LATE,
        task_id,
        task.status,
        f"can no longer be canceled: it is {task.status} ({refusal})",
    )
