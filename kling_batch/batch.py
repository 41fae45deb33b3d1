"""A whole run, as `kling_batch.run` (and so the command line) does it: the budget's plan
before, the run, the results and the report after. The runner itself (kling_batch/runner)
imports neither plan nor report: they are passed in here, where the layers meet.
"""

from __future__ import annotations

from pathlib import Path

from kling_batch.manifest.model import Manifest
from kling_batch.plan import build_plan
from kling_batch.prices import PriceTable
from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import BudgetExceeded, spending_limit
from kling_batch.runner.clock import Clock
from kling_batch.runner.connection import Connection
from kling_batch.runner.events import EventSink
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
) -> RunSummary:
    """Run (or resume) a validated manifest, then write results.jsonl and report.html.

    With a spending limit (`options.max_cost`, else the manifest's `budget:`), a run whose plan
    costs more raises `BudgetExceeded` before anything is sent; an output made on another
    service or account raises WorldMismatch, also before anything is sent.
    """
    options = options or RunOptions()
    prices = options.prices or PriceTable.load()
    limit = spending_limit(manifest, options.max_cost, prices.currency)

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
        write_results(layout, manifest, store, prices)
        write_report(layout, manifest, store, prices=prices)

    return await run_entries(
        manifest,
        connection,
        output_root,
        options,
        sinks,
        preflight=refuse_over_budget,
        epilogue=write_outputs,
        clock=clock,
    )
