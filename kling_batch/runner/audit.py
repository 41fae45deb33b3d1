"""`audit`: the account's recent tasks of a manifest's models that no entry of its output claims.

Such tasks are left over from a crash, another tool or a colleague's script, and they were paid
for. Each is shown with the entries whose prompt it echoes; `adopt` hands a task that resembles
exactly one entry, and is the only task resembling it, to that entry when the entry has no task
yet (never submitted, or an unsettled create), so that `run` downloads it instead of paying again.
Nothing here ever creates a task.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kling_batch.api import DashScopeClient
from kling_batch.api.types import Task, TaskStatus
from kling_batch.hashing import sha256_json
from kling_batch.manifest import fingerprint
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable, PriceTableError
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.changes import fingerprint_body
from kling_batch.runner.connection import Connection, bind_output
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.lock import RunLock
from kling_batch.runner.reconcile import LIST_HORIZON, Sighting, fits_usage, unclaimed_tasks
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import StateStore, TaskClaimed
from kling_batch.runner.transitions import task_seen

# The service's usage.SR, per mode of the price table.
_MODE_OF_SR = {"720": "std", "1080": "pro"}


@dataclass(frozen=True)
class UnclaimedTask:
    task_id: str
    model: str
    status: TaskStatus
    created: datetime | None
    billed_seconds: int | None
    cost: Decimal | None
    resembles: tuple[str, ...]
    adopted_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "model": self.model,
            "status": str(self.status),
            "created": _iso(self.created),
            "billed_seconds": self.billed_seconds,
            "cost": None if self.cost is None else float(self.cost),
            "resembles": list(self.resembles),
            "adopted_by": self.adopted_by,
        }


async def audit_output(
    manifest: Manifest,
    connection: Connection,
    output_root: Path,
    *,
    prices: PriceTable | None = None,
    adopt: bool = False,
) -> tuple[UnclaimedTask, ...]:
    """The unclaimed tasks of the last 24 h, oldest first; with `adopt`, hand each unambiguous
    one to its entry. Raises WorldMismatch for an output made elsewhere (nothing is asked)."""
    prices = prices or PriceTable.load()
    layout = OutputLayout.for_manifest(output_root, manifest.name)
    with RunLock(layout.folder):
        store = StateStore(layout.state)
        try:
            world = await bind_output(store, connection, layout.folder)
            async with connection.client(store, world) as client:
                sightings = await _sightings(client, manifest, store)
            found = [_row(seen, manifest.entries, store, prices) for seen in sightings]
            if adopt:
                found = _adopt(found, sightings, manifest, store, layout)
        finally:
            store.close()
    return tuple(sorted(found, key=lambda row: (row.created or _EPOCH, row.task_id)))


_EPOCH = datetime.fromtimestamp(0, UTC)


async def _sightings(
    client: DashScopeClient, manifest: Manifest, store: StateStore
) -> list[Sighting]:
    end = datetime.now(UTC)
    start = end - LIST_HORIZON
    claimed = store.claimed_task_ids()
    models = sorted({entry.model for entry in manifest.entries})
    found: list[Sighting] = []
    for model in models:
        found += await unclaimed_tasks(client, model, start, end, claimed)
    return found


def _row(
    seen: Sighting, entries: Sequence[Entry], store: StateStore, prices: PriceTable
) -> UnclaimedTask:
    task = seen.task
    model = seen.model
    resembles = tuple(
        entry.id
        for entry in entries
        if entry.model == model and _resembles(entry, store.get(entry.id), task, store)
    )
    billed = task.usage.duration if task.usage is not None else None
    return UnclaimedTask(
        task_id=task.task_id,
        model=model,
        status=task.status,
        created=seen.created_at,
        billed_seconds=billed if task.status is TaskStatus.SUCCEEDED else None,
        cost=_cost(task, model, prices),
        resembles=resembles,
    )


def _resembles(entry: Entry, record: EntryRecord | None, task: Task, store: StateStore) -> bool:
    body = fingerprint_body(entry)
    basis = record.basis if record is not None else EchoBasis.of_body(body)
    modes = basis.modes(store.echo_modes(entry.model, basis.kind))
    # What the entry would send now: a render of another duration or resolution is not its.
    return basis.could_echo(task.orig_prompt, modes) and fits_usage(task, body.get("parameters"))


def _adopt(
    rows: list[UnclaimedTask],
    sightings: list[Sighting],
    manifest: Manifest,
    store: StateStore,
    layout: OutputLayout,
) -> list[UnclaimedTask]:
    tasks = {seen.task.task_id: seen.task for seen in sightings}
    claims: dict[str, list[str]] = {}
    for row in rows:
        for entry_id in row.resembles:
            claims.setdefault(entry_id, []).append(row.task_id)
    adopted: list[UnclaimedTask] = []
    for row in rows:
        taker = None
        if len(row.resembles) == 1 and len(claims[row.resembles[0]]) == 1:
            entry = manifest.entry(row.resembles[0])
            record = store.get(entry.id)
            if record is None or (record.unsettled and record.fingerprint == fingerprint(entry)):
                taker = _hand_over(entry, record, tasks[row.task_id], store, layout)
        adopted.append(row if taker is None else _replace_adopted(row, taker))
    return adopted


def _hand_over(
    entry: Entry,
    record: EntryRecord | None,
    task: Task,
    store: StateStore,
    layout: OutputLayout,
) -> str | None:
    if record is None:
        body = fingerprint_body(entry)
        store.record_intent(
            entry.id,
            fingerprint=fingerprint(entry),
            model=entry.model,
            body_sha256=sha256_json(body),
            basis=EchoBasis.of_body(body),
            fingerprint_body=body,
        )
    try:
        claimed = store.record_submitted(entry.id, task)
    except TaskClaimed:
        return None
    if task.status.is_terminal:
        store.apply(entry.id, task_seen(claimed, task, time.time()))
    layout.keep_task_answer(entry.id, task)
    return entry.id


def _replace_adopted(row: UnclaimedTask, entry_id: str) -> UnclaimedTask:
    return UnclaimedTask(
        row.task_id,
        row.model,
        row.status,
        row.created,
        row.billed_seconds,
        row.cost,
        row.resembles,
        adopted_by=entry_id,
    )


def _cost(task: Task, model: str, prices: PriceTable) -> Decimal | None:
    # At the task's own model's prices: a turbo task costs what turbo costs.
    usage = task.usage
    if task.status is not TaskStatus.SUCCEEDED or usage is None or usage.duration is None:
        return None
    mode = _MODE_OF_SR.get(usage.sr or "")
    if mode is None:
        return None
    try:
        estimate = prices.price(
            mode=mode, audio=bool(usage.audio), seconds=usage.duration, model=model
        )
    except PriceTableError:
        return None
    return estimate.amount


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
