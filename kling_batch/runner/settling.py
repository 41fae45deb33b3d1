"""Settling creates whose answer was lost: the entry's own, and superseded ones.

The task list is asked (runner/reconcile.py) under the look-alike gate of the attempt, so that
no create that its task could be taken for is on the wire meanwhile. What it says becomes a
transition: adopted (the entry is in flight), not created (sent again), or unknown for now.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from kling_batch.manifest.model import Entry
from kling_batch.runner.events import EntryUnknown, Reconciled
from kling_batch.runner.reconcile import (
    CLOCK_SLACK,
    LIST_HORIZON,
    Attempt,
    Verdict,
    settle_submission,
)
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import TaskClaimed
from kling_batch.runner.transitions import unsettled

if TYPE_CHECKING:
    from kling_batch.runner.entry_flow import EntryFlow


async def settle_lost(flow: EntryFlow, entry: Entry, record: EntryRecord) -> EntryRecord | None:
    """Find out whether a submission whose answer was lost created a task."""
    settlement = await settle_submission(
        flow.client,
        _attempt(record),
        claimed=flow.store.claimed_task_ids,
        rivals=lambda: rivals_of(flow, record),
        modes=lambda basis: flow.modes(record.model, basis),
        clock=flow.clock,
    )
    flow.events.emit(
        Reconciled(
            entry.id,
            verdict=settlement.verdict,
            task_id=settlement.task.task_id if settlement.task else None,
            reason=settlement.reason or None,
        )
    )
    reason = settlement.reason
    if settlement.verdict is Verdict.ADOPTED:
        assert settlement.task is not None
        try:
            adopted = flow.record_task_id(entry.id, settlement.task)
        except TaskClaimed as claimed:
            reason = str(claimed)
        else:
            flow.note_echo(adopted, settlement.task)
            return adopted
    elif settlement.verdict is Verdict.NOT_CREATED:
        return None  # nothing was created: sending it again cannot pay twice
    flow.events.emit(EntryUnknown(entry.id, reason=reason))
    return flow.store.apply(entry.id, unsettled(reason))


def rivals_of(flow: EntryFlow, record: EntryRecord) -> list[Attempt]:
    """Every other create of the model whose answer is unsettled, superseded ones too."""
    attempts = [*flow.store.unsettled(record.model), *superseded(flow, record.model)]
    return [
        _attempt(other)
        for other in attempts
        if (other.entry_id, other.intent_at) != (record.entry_id, record.intent_at)
    ]


def superseded(flow: EntryFlow, model: str, entry_id: str | None = None) -> list[EntryRecord]:
    since = flow.clock.now() - (LIST_HORIZON - CLOCK_SLACK).total_seconds()
    return flow.store.superseded_attempts(model, since, entry_id)


async def settle_superseded(flow: EntryFlow, entry: Entry) -> None:
    for ghost in superseded(flow, entry.model, entry.id):
        tokens = ghost.basis.tokens(flow.modes(ghost.model, ghost.basis))
        async with flow.lookalikes.hold(ghost.model, tokens):
            settlement = await settle_submission(
                flow.client,
                _attempt(ghost),
                claimed=flow.store.claimed_task_ids,
                rivals=functools.partial(rivals_of, flow, ghost),
                modes=lambda basis: flow.modes(entry.model, basis),
                clock=flow.clock,
            )
        flow.events.emit(
            Reconciled(
                entry.id,
                verdict=settlement.verdict,
                task_id=settlement.task.task_id if settlement.task else None,
                reason=settlement.reason or None,
                superseded=True,
            )
        )
        if settlement.verdict is Verdict.ADOPTED:
            assert settlement.task is not None
            flow.store.settle_superseded(ghost, settlement.task.task_id)
        elif settlement.verdict is Verdict.NOT_CREATED:
            flow.store.settle_superseded(ghost, None)


def _attempt(record: EntryRecord) -> Attempt:
    body = record.fingerprint_body or {}
    parameters = body.get("parameters") if record.fingerprint_body is not None else None
    return Attempt(
        record.entry_id,
        record.model,
        record.basis,
        record.intent_at,
        parameters if isinstance(parameters, dict) else None,
    )
