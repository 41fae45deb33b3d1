"""`run` and `status`: render a manifest resumably, and show where each entry stands."""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import anyio
import click

from kling_batch.batch import run_manifest
from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import (
    limit_or_exit,
    load_prices,
    max_cost_option,
    prices_option,
)
from kling_batch.cli.display import open_display
from kling_batch.cli.errors import FatalError, InvalidInput
from kling_batch.cli.exit_codes import ExitCode
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.cli.service import (
    base_url_option,
    connection_or_exit,
    service_errors,
    simulate_option,
    usable_output,
)
from kling_batch.prices import PriceTableError
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import BudgetExceeded, money
from kling_batch.runner.expiry import ExpiryNotice, status_notices
from kling_batch.runner.lock import StateLocked
from kling_batch.runner.options import RunOptions, RunSummary, SelectionError, select_entries
from kling_batch.runner.records import EntryState
from kling_batch.runner.results import entry_result
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

# Real renders take minutes and the polling policy learns their length, so a 5 s floor costs
# little lag; the simulator renders in seconds, so its demo polls finer.
REAL_POLL_FLOOR = 5.0
SIMULATED_POLL_FLOOR = 0.5


@click.command()
@manifest_argument
@output_option
@base_url_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Tasks in flight at once (the account's Kling limit is 10).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.05, 600),
    default=None,
    help="Shortest gap in seconds between two polls of one task "
    f"[default: {REAL_POLL_FLOOR:g}, or {SIMULATED_POLL_FLOOR:g} with --simulate].",
)
@click.option(
    "--only",
    multiple=True,
    metavar="ID",
    help="Run only entries whose id matches (repeatable; glob patterns such as 'hero-*').",
)
@click.option(
    "--retry-failed", is_flag=True, help="Render failed, canceled and expired entries again."
)
@click.option(
    "--resubmit-unknown",
    is_flag=True,
    help="Send again entries whose earlier submission could not be settled (may pay twice).",
)
@simulate_option(
    "Run against the built-in simulator, in this process: no key, no network, nothing paid. "
    "Its tasks end with the process, so a resumed simulated run renders unfinished entries "
    "again. An output made with --simulate is kept for simulated runs only."
)
@click.option(
    "--simulate-render-seconds",
    type=click.FloatRange(0.0, 3600),
    default=3.0,
    show_default=True,
    help="With --simulate: how long each simulated render takes.",
)
@prices_option
@max_cost_option
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stdout.")
def run(
    manifest: Path,
    output_root: Path,
    base_url: str,
    concurrency: int,
    poll_interval: float | None,
    only: tuple[str, ...],
    retry_failed: bool,
    resubmit_unknown: bool,
    simulate: bool,
    simulate_render_seconds: float,
    prices_file: Path | None,
    max_cost: Decimal | None,
    as_json: bool,
) -> None:
    """Validate MANIFEST, then submit, poll and download every entry, resumably.

    Running the same command again resumes: finished entries are skipped, tasks in flight are
    polled again, and only entries whose content changed are rendered again. With --max-cost
    or the manifest's budget:, a run whose plan costs more is refused (exit 2, nothing sent),
    and no create is sent past the limit. Exit status: 0 all done, 1 some entry failed or was
    not sent, 2 invalid input (nothing sent), 3 account or fatal error, 130 interrupted (state
    saved).
    """
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    limit_or_exit(loaded, max_cost, prices)  # a budget in another currency: refused up front
    try:
        select_entries(loaded, only)
    except SelectionError as error:
        raise InvalidInput(str(error)) from None
    connection = connection_or_exit(
        base_url, simulate=simulate, render_seconds=simulate_render_seconds
    )
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    usable_output(layout.folder)
    options = RunOptions(
        concurrency=concurrency,
        poll_interval=poll_interval or (SIMULATED_POLL_FLOOR if simulate else REAL_POLL_FLOOR),
        only=only,
        retry_failed=retry_failed,
        resubmit_unknown=resubmit_unknown,
        max_cost=max_cost,
        prices=prices,
    )
    try:
        # The display restores the terminal before anything else is printed.
        with service_errors(), open_display(as_json=as_json, manifest=loaded) as display:
            summary = anyio.run(run_manifest, loaded, connection, output_root, options, [display])
    except StateLocked as locked:
        raise FatalError(str(locked)) from None
    except (BudgetExceeded, PriceTableError) as refused:
        raise InvalidInput(str(refused)) from None
    _finish(summary, layout, as_json)


def _finish(summary: RunSummary, layout: OutputLayout, as_json: bool) -> None:
    done = summary.count(EntryState.DONE)
    total = len(summary.states)
    if not as_json:
        click.echo(
            f"{done} of {total} entries done in {summary.elapsed:.1f} s; output in {layout.folder}",
            err=True,
        )
    if summary.fatal:
        click.echo(f"error: stopped: {summary.fatal}", err=True)
        sys.exit(ExitCode.FATAL)
    if summary.interrupted:
        click.echo("interrupted: state saved; run the same command again to resume", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    if summary.over_budget:
        click.echo(
            f"not sent, over the budget: {', '.join(summary.over_budget)}; "
            "raise the limit with --max-cost to render them",
            err=True,
        )
    if not summary.all_done:
        sys.exit(ExitCode.ENTRY_FAILED)


@click.command()
@manifest_argument
@output_option
@prices_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry, one per line.")
def status(manifest: Path, output_root: Path, prices_file: Path | None, as_json: bool) -> None:
    """Show each entry's state from the state store, without any network call.

    Beside each entry: the estimated seconds and cost, and what the service billed
    (usage.duration); below, what expires soon (task ids, video links, uploads).
    """
    loaded = load_or_exit(manifest)
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    prices = load_prices(prices_file)
    now = time.time()
    records = {}
    notices: dict[str, tuple[ExpiryNotice, ...]] = {}
    world = None
    if layout.state.exists():
        store = StateStore(layout.state, readonly=True)
        try:
            world = store.world()
            records = {record.entry_id: record for record in store.all()}
            for entry in loaded.entries:
                found = status_notices(entry, records.get(entry.id), store.get_upload, now)
                if found:
                    notices[entry.id] = found
        finally:
            store.close()
    try:
        results = [entry_result(entry, records.get(entry.id), prices) for entry in loaded.entries]
    except PriceTableError as error:
        raise InvalidInput(str(error)) from None
    if as_json:
        for result in results:
            row = result.as_json()
            if result.id in notices:
                row["warnings"] = [notice.to_json() for notice in notices[result.id]]
            if world is not None:
                row["simulated"] = world.simulated
            click.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        return
    note = world_note(world)
    if note:
        click.echo(note, err=True)  # stdout keeps the table alone, for scripts
    table = [["ENTRY", "STATE", "TASK", "EST S", "BILLED S", "EST COST", "COST", "DETAIL"]]
    for result in results:
        detail = ""
        if result.error_code:
            detail = f"{result.error_code}: {result.error_message or ''}"
        table.append(
            [
                result.id,
                result.status,
                result.task_id or "-",
                str(result.estimate.seconds),
                _or_dash(result.billed_seconds),
                f"{result.estimate.amount:.2f}",
                "-" if result.cost is None else f"{result.cost:.2f}",
                detail,
            ]
        )
    for line in columns(table, right=frozenset({3, 4, 5, 6})):
        click.echo(line)
    billed = [result.cost for result in results if result.cost is not None]
    if billed:
        total = sum(billed, Decimal(0))
        click.echo(
            f"billed so far: {money(total, prices.currency)} ({len(billed)} of {len(results)} "
            "entries)"
        )
    if notices:
        click.echo("expiring:")
        for entry_notices in notices.values():
            for notice in entry_notices:
                click.echo(f"  {notice.entry_id}: {notice.message}")


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
