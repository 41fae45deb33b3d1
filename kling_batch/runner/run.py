"""A run's shape: the lock, the store, the world check, the client, the task groups, signals.

`run_manifest` takes the output's lock, opens its state store, checks that the output belongs to
the connection's service and account (runner/world.py), and hands every selected entry to the
run's `EntryFlow` (runner/entry_flow.py): one that needs no work is skipped at once, any other
gets an anyio task, inside one task group. A `CapacityLimiter` bounds the tasks in flight
(`--concurrency`); the client paces submits and polls for the whole process. Ctrl-C and SIGTERM
stop new work and let creates on the wire answer.

What is written after a run (results.jsonl, report.html) and what is checked before it (the
budget's plan) belong to the callers (kling_batch/batch.py, the CLI): they pass them in as
`preflight` and `epilogue`, which run inside the lock, so this layer imports neither.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import anyio

from kling_batch.api import RetryNotice
from kling_batch.collector import collector_paused
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import Budget, spending_limit
from kling_batch.runner.clock import Clock, SystemClock
from kling_batch.runner.connection import Connection, bind_output
from kling_batch.runner.entry_flow import EntryFlow
from kling_batch.runner.events import (
    EventLog,
    EventSink,
    Interrupted,
    Retry,
    RunFinished,
    RunStarted,
)
from kling_batch.runner.lock import RunLock
from kling_batch.runner.moves import standings
from kling_batch.runner.options import (
    RunOptions,
    RunSummary,
    SelectionError,
    replaced_ids,
    select_entries,
)
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import World

__all__ = [
    "Connection",
    "RunOptions",
    "RunSummary",
    "SelectionError",
    "run_manifest",
    "select_entries",
]

# The states in which an entry ended without its video in this run.
_GAVE_UP = (EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED, EntryState.UNKNOWN)

# Called inside the lock with the open store: `preflight` before anything is sent (it may
# raise to refuse the run), `epilogue` after the run however it ended.
Preflight = Callable[[StateStore, OutputLayout, World], None]
Epilogue = Callable[[StateStore, OutputLayout], None]


async def run_manifest(
    manifest: Manifest,
    connection: Connection,
    output_root: Path,
    options: RunOptions | None = None,
    sinks: list[EventSink] | None = None,
    *,
    preflight: Preflight | None = None,
    epilogue: Epilogue | None = None,
    clock: Clock | None = None,
) -> RunSummary:
    """Run (or resume) a validated manifest; holds the output's lock for the whole run.

    Raises WorldMismatch (nothing sent) for an output made on another service or account, and
    MoveRefused for a `moved:` that does not fit the output (runner/moves.py)."""
    options = options or RunOptions()
    entries = select_entries(manifest, options.only)
    replaced_ids(manifest, entries, options.replace)  # a pattern that names no entry: refused
    layout = OutputLayout.for_manifest(output_root, manifest.name)
    prices = options.prices or PriceTable.load()
    # Every estimate up front: a price table that lacks one fails here, not mid-run.
    estimates = {entry.id: prices.estimate(entry).amount for entry in entries}
    limit = spending_limit(manifest, options.max_cost, prices.currency)
    with RunLock(layout.folder):
        store = StateStore(layout.state)
        try:
            world = await bind_output(store, connection, layout.folder)
            moves = standings(manifest, store)
            if preflight is not None:
                preflight(store, layout, world)
        except BaseException:
            store.close()
            raise
        events = EventLog(layout.events, sinks)
        try:
            client = connection.client(store, world, lambda notice: _log_retry(events, notice))
            async with client:
                flow = EntryFlow(
                    manifest,
                    client,
                    store,
                    layout,
                    events,
                    options,
                    Budget(limit),
                    estimates,
                    world,
                    clock or SystemClock(),
                    moves=moves,
                )
                summary = await _Orchestra(flow, entries).run()
        finally:
            try:
                if epilogue is not None:
                    epilogue(store, layout)
            finally:
                store.close()
                events.close()
    return summary


class _Orchestra:
    """Every selected entry in one task group, a signal watcher beside it, then the summary."""

    def __init__(self, flow: EntryFlow, entries: list[Entry]) -> None:
        self.flow = flow
        self.entries = entries
        self.interrupted = False

    async def run(self) -> RunSummary:
        flow = self.flow
        started = flow.clock.monotonic()
        flow.events.emit(
            RunStarted(
                manifest=flow.manifest.path,
                entries=len(self.entries),
                concurrency=flow.options.concurrency,
                service=flow.world.describe(),
                simulated=flow.world.simulated,
            )
        )
        # Tasks already in flight hold remote slots: resume them before submitting new work.
        # The store's records all live on: the collector would scan them for nothing.
        with collector_paused():
            records = {e.id: flow.store.get(e.id) for e in self.entries}
        ordered = sorted(self.entries, key=lambda e: not _in_flight(records[e.id]))
        # The signal watcher lives outside the scope that a stop cancels, so that it still
        # hears a second Ctrl-C while shielded creates finish.
        async with anyio.create_task_group() as group:
            if flow.options.handle_signals:
                group.start_soon(self._watch_signals)
            with flow.scope:
                async with anyio.create_task_group() as jobs:
                    # The skips of a resume, in one write, without the collector (no await).
                    with flow.events.batched(), collector_paused():
                        for entry in ordered:
                            if flow.stopping:
                                break  # a fatal error while skipping: the rest stays as it is
                            if not flow.skip_settled(entry):
                                jobs.start_soon(flow.advance_guarded, entry)
                # Now that every other create of the run has its task, an entry this run left
                # unsettled may be plain to see: look once more.
                unsettled = [entry for entry in self.entries if flow.left_unsettled(entry)]
                if unsettled and not flow.stopping:
                    async with anyio.create_task_group() as jobs:
                        for entry in unsettled:
                            jobs.start_soon(flow.advance_guarded, entry)
            group.cancel_scope.cancel()
        states = {e.id: _state(flow.store.get(e.id)) for e in self.entries}
        summary = RunSummary(
            states,
            self.interrupted,
            flow.fatal,
            flow.clock.monotonic() - started,
            over_budget=tuple(flow.budget.refused),
        )
        flow.events.emit(
            RunFinished(
                done=summary.count(EntryState.DONE),
                failed=sum(summary.count(state) for state in _GAVE_UP),
                unfinished=sum(
                    1 for state in states.values() if state not in (*_GAVE_UP, EntryState.DONE)
                ),
                interrupted=self.interrupted,
                fatal=flow.fatal,
                elapsed=round(summary.elapsed, 3),
            )
        )
        return summary

    async def _watch_signals(self) -> None:
        # The receiver stays open for the whole run: a second Ctrl-C (while a create in flight is
        # given its last seconds) must not fall through to Python's KeyboardInterrupt.
        flow = self.flow
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for number in received:
                flow.events.emit(Interrupted(signal=signal.Signals(number).name))
                if self.interrupted:
                    for shield in flow.submit_shields:
                        shield.deadline = anyio.current_time()  # stop waiting for the answer
                    continue
                self.interrupted = True
                flow.stop()


def _log_retry(events: EventLog, notice: RetryNotice) -> None:
    events.emit(
        Retry(
            operation=notice.operation,
            attempt=notice.attempt,
            code=notice.error.code or type(notice.error).__name__,
            message=notice.error.message,
            retry_after=notice.retry_after,
        )
    )


def _in_flight(record: EntryRecord | None) -> bool:
    return record is not None and record.state in (EntryState.IN_FLIGHT, EntryState.SUBMITTING)


def _state(record: EntryRecord | None) -> EntryState | None:
    return None if record is None else record.state
