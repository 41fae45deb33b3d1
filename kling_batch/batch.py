"""A whole run, as `kling_batch.run` (and so the command line) does it: the budget's plan
before, the run, the results and the report after, and the end-of-run notification last. The
runner itself (kling_batch/runner) imports neither plan nor report: they are passed in here,
where the layers meet.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from kling_batch.collector import collector_paused
from kling_batch.manifest.model import Manifest
from kling_batch.notify import NotifyFailure, NotifyTargets, notify, run_exit_status, run_summary
from kling_batch.plan import build_plan
from kling_batch.prices import PriceTable
from kling_batch.report import PosterMaker, write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import BudgetExceeded, spending_limit
from kling_batch.runner.clock import Clock
from kling_batch.runner.connection import Connection
from kling_batch.runner.events import EventLog, EventSink, NotifyFailed
from kling_batch.runner.options import RunOptions, RunSummary, replaced_ids, select_entries
from kling_batch.runner.results import write_results
from kling_batch.runner.run import run_manifest as run_entries
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import World


async def run_manifest(
    manifest: Manifest,
    connection: Connection,
    output_root: Path,
    options: RunOptions | None = None,
    sinks: list[EventSink] | None = None,
    *,
    clock: Clock | None = None,
    notify_targets: NotifyTargets | None = None,
) -> RunSummary:
    """Run (or resume) a validated manifest, then write results.jsonl and report.html.

    With a spending limit (`options.max_cost`, else the manifest's `budget:`), a run whose plan
    costs more raises `BudgetExceeded` before anything is sent; an output made on another
    service or account raises WorldMismatch, also before anything is sent.

    `notify_targets` get one summary once the run has started, however it ends (done, failed,
    interrupted, or a fatal error, which is raised after); a notification that fails is a
    `NotifyFailed` event (events.jsonl and the sinks), and changes nothing else.
    """
    options = options or RunOptions()
    prices = options.prices or PriceTable.load()
    limit = spending_limit(manifest, options.max_cost, prices.currency)
    layout = OutputLayout.for_manifest(output_root, manifest.name)
    began = False  # the run took the output and passed its checks: it gets a notification
    posters = PosterMaker(layout)  # made as the videos arrive, for the report at the end

    def refuse_over_budget(store: StateStore, layout: OutputLayout, world: World) -> None:
        if limit is None:
            return
        entries = select_entries(manifest, options.only)
        plan = build_plan(
            manifest,
            layout,
            store,
            prices,
            entries=entries,
            retry_failed=options.retry_failed,
            resubmit_unknown=options.resubmit_unknown,
            replace=replaced_ids(manifest, entries, options.replace),
            limit=limit,
            tasks_outlive_run=not world.in_process,
        )
        if plan.over_budget:
            raise BudgetExceeded(plan.cost, len(plan.to_send), limit)

    def write_outputs(store: StateStore, layout: OutputLayout) -> None:
        nonlocal began
        began = True
        # Every result and card lives until the page is written: the collector would scan them
        # again and again for nothing.
        with collector_paused():
            results = write_results(layout, manifest, store, prices)
            posters.close()  # the last posters were made while results.jsonl was written
            write_report(layout, manifest, store, prices=prices, results=results)

    started = time.monotonic()
    try:
        summary = await run_entries(
            manifest,
            connection,
            output_root,
            options,
            [*(sinks or []), posters],
            preflight=refuse_over_budget,
            epilogue=write_outputs,
            clock=clock,
        )
    except Exception as error:
        posters.close()
        if notify_targets and began:
            stopped = _stopped_by(error, manifest, layout, options, time.monotonic() - started)
            failures = _deliver(notify_targets, manifest, stopped, layout, prices)
            _log(failures, layout, sinks)
        raise
    if notify_targets:
        failures = await anyio.to_thread.run_sync(
            _deliver, notify_targets, manifest, summary, layout, prices
        )
        _log(failures, layout, sinks)
    return summary


def _deliver(
    targets: NotifyTargets,
    manifest: Manifest,
    outcome: RunSummary,
    layout: OutputLayout,
    prices: PriceTable,
) -> list[NotifyFailure]:
    # After the run, so the summary names the report just written. Read-only: the lock is
    # released, and a next run may already be writing.
    store = StateStore(layout.state, readonly=True)
    try:
        summary = run_summary(
            manifest, outcome, layout, store, prices, exit_status=run_exit_status(outcome)
        )
    finally:
        store.close()
    return notify(summary, url=targets.url, command=targets.command)


def _log(
    failures: list[NotifyFailure], layout: OutputLayout, sinks: list[EventSink] | None
) -> None:
    if not failures:
        return
    log = EventLog(layout.events, sinks)
    try:
        for failure in failures:
            log.emit(
                NotifyFailed(channel=failure.channel, target=failure.target, reason=failure.reason)
            )
    finally:
        log.close()


def _stopped_by(
    error: Exception, manifest: Manifest, layout: OutputLayout, options: RunOptions, elapsed: float
) -> RunSummary:
    """What a run that raised `error` after it started leaves behind, as a summary."""
    store = StateStore(layout.state, readonly=True)
    try:
        states = {}
        for entry in select_entries(manifest, options.only):
            record = store.get(entry.id)
            states[entry.id] = None if record is None else record.state
    finally:
        store.close()
    return RunSummary(states, fatal=f"{type(error).__name__}: {error}", elapsed=elapsed)
