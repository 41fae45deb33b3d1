"""`plan` and `cancel`: review what `run` would do and spend; stop tasks still waiting."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import anyio
import click

from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import (
    limit_or_exit,
    load_prices,
    max_cost_option,
    prices_option,
)
from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.exit_codes import ExitCode
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.cli.service import (
    base_url_option,
    connection_or_exit,
    service_errors,
    simulate_option,
)
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.plan import Plan, PlannedEntry, build_plan
from kling_batch.prices import PriceTableError
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import money
from kling_batch.runner.options import SelectionError, select_entries
from kling_batch.runner.remote import (
    Cancellation,
    CancelOutcome,
    Refreshed,
    cancel_pending,
    refresh_in_flight,
    waiting,
)
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

only_option = click.option(
    "--only",
    multiple=True,
    metavar="ID",
    help="Only entries whose id matches (repeatable; glob patterns such as 'hero-*').",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.command()
@manifest_argument
@output_option
@only_option
@click.option(
    "--retry-failed", is_flag=True, help="Plan `run --retry-failed`: failed entries sent again."
)
@click.option(
    "--resubmit-unknown",
    is_flag=True,
    help="Plan `run --resubmit-unknown`: unsettled submissions sent again.",
)
@prices_option
@max_cost_option
@click.option(
    "--refresh",
    is_flag=True,
    help="First ask DashScope where the tasks in flight stand (needs $DASHSCOPE_API_KEY). "
    "Without it, plan sends nothing anywhere.",
)
@base_url_option
@simulate_option(
    "Plan `run --simulate`: on the built-in simulator, which forgets its tasks when its run "
    "ends, so entries left midway are rendered again. With --refresh, nothing is asked."
)
@json_option
def plan(
    manifest: Path,
    output_root: Path,
    only: tuple[str, ...],
    retry_failed: bool,
    resubmit_unknown: bool,
    prices_file: Path | None,
    max_cost: Decimal | None,
    refresh: bool,
    base_url: str,
    simulate: bool,
    as_json: bool,
) -> None:
    """Show what `run MANIFEST` would do with each entry, and what it would cost.

    Per entry: submit (new), re-render (changed, with the fields that changed), poll (in
    flight), download, skip (done), failed (needs --retry-failed), unknown (an unsettled
    submission); the seconds billed and the estimated cost, in total and by model, mode and
    audio; the budget; what expires soon. Takes the same selection flags as `run`.
    """
    loaded = load_or_exit(manifest)
    entries = _select(loaded, only)
    prices = load_prices(prices_file)
    limit = limit_or_exit(loaded, max_cost, prices)
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    if refresh and waiting(layout, entries):
        connection = connection_or_exit(base_url, simulate=simulate)
        with service_errors():
            refreshed = anyio.run(refresh_in_flight, loaded, entries, connection, output_root)
        _tell_refreshed(refreshed)
    store = StateStore(layout.state, readonly=True) if layout.state.exists() else None
    try:
        result = build_plan(
            loaded,
            layout,
            store,
            prices,
            entries=entries,
            retry_failed=retry_failed,
            resubmit_unknown=resubmit_unknown,
            limit=limit,
            tasks_outlive_run=False if simulate else None,
        )
    except PriceTableError as error:
        raise InvalidInput(str(error)) from None
    finally:
        if store is not None:
            store.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in render_plan(result):
            click.echo(line)


@click.command()
@manifest_argument
@output_option
@only_option
@base_url_option
@simulate_option(
    "Cancel on the built-in simulator: its tasks ended with the run that made them, so this "
    "only checks that the output is a simulated one."
)
@json_option
def cancel(
    manifest: Path,
    output_root: Path,
    only: tuple[str, ...],
    base_url: str,
    simulate: bool,
    as_json: bool,
) -> None:
    """Cancel the manifest's tasks that are still PENDING remotely.

    Tasks already rendering or finished cannot be canceled (DashScope cancels only PENDING
    ones); they are reported, and the state learns where they stand. Canceled entries are
    rendered again by `run --retry-failed`. Stop a running `run` first (Ctrl-C keeps its
    state). Exit status: 0 every task in flight was canceled (or none was in flight), 1 some
    could not be, 2 invalid input, 3 account error or the output is in use.
    """
    loaded = load_or_exit(manifest)
    entries = _select(loaded, only)
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    outcomes: tuple[Cancellation, ...] = ()
    if waiting(layout, entries, cancel=True):  # else no key is needed, nor any request
        connection = connection_or_exit(base_url, simulate=simulate)
        with service_errors():
            outcomes = anyio.run(cancel_pending, loaded, entries, connection, output_root)
    if as_json:
        for outcome in outcomes:
            click.echo(json.dumps(_cancellation_json(outcome), ensure_ascii=False))
    elif not outcomes:
        click.echo(f"nothing to cancel: no task of {loaded.name} is in flight")
    else:
        for line in render_cancellations(outcomes):
            click.echo(line)
    if any(outcome.outcome is not CancelOutcome.CANCELED for outcome in outcomes):
        sys.exit(ExitCode.ENTRY_FAILED)


# -- pieces -----------------------------------------------------------------------------------


def _select(manifest: Manifest, only: Sequence[str]) -> list[Entry]:
    try:
        return select_entries(manifest, only)
    except SelectionError as error:
        raise InvalidInput(str(error)) from None


def _tell_refreshed(refreshed: tuple[Refreshed, ...]) -> None:
    for item in refreshed:
        status = item.status or f"not reached: {item.problem}"
        click.echo(f"refreshed {item.entry_id}: task {item.task_id} {status}", err=True)


def render_plan(plan: Plan) -> list[str]:
    """The plan as a table and a few paragraphs, for people."""
    currency = plan.currency
    lines = [f"Plan for {plan.manifest.name} ({plan.manifest.path}), output {plan.output}", ""]
    header = [
        "ENTRY",
        "ACTION",
        "MODEL",
        "MODE",
        "AUDIO",
        "SECONDS",
        "ESTIMATE",
        "BILLED",
        "DETAIL",
    ]
    rows = [header] + [_plan_row(planned) for planned in plan.entries]
    lines += columns(rows, right=frozenset({5, 6, 7}))
    lines.append("")
    lines.append(plan.summary())
    for group in plan.groups:
        sound = "audio" if group.audio else "silent"
        renders = f"{group.renders} render{'s' if group.renders != 1 else ''}"
        lines.append(
            f"  {group.model:<8}  {group.mode:<3}  {sound:<6}  {renders:>11}  {group.seconds:>5} s"
            f"  {money(group.cost, currency):>14}"
        )
    settling = [p for p in plan.entries if p.may_pay]
    if settling:
        lines.append(
            f"may send {len(settling)} more (lost creates, sent again only if they never "
            f"arrived): {money(plan.may_cost, currency)}"
        )
    lines.append(f"already billed: {plan.billed_seconds} s, {money(plan.billed_cost, currency)}")
    if plan.limit is not None:
        verdict = "EXCEEDED: `run` refuses to start" if plan.over_budget else "the plan fits"
        lines.append(f"budget: {plan.limit}: {verdict}")
    as_of = f" (as of {plan.prices.as_of})" if plan.prices.as_of else ""
    lines.append(f"prices: {currency} per second of video; {plan.prices.source}{as_of}")
    note = world_note(plan.world)
    if note:
        lines.append(note)
    notes = [f"  {p.id}: {p.note}" for p in plan.entries if p.note]
    if notes:
        lines += ["", "notes:", *notes]
    if plan.notices:
        lines += ["", "expiring:"]
        lines += [f"  {n.entry_id}: {n.message}" for n in plan.notices]
    return lines


def _plan_row(planned: PlannedEntry) -> list[str]:
    result = planned.result
    amount = f"{result.estimate.amount:.2f}"
    estimate = amount if planned.pays else f"({amount})" if planned.may_pay else "-"
    billed = str(result.billed_seconds) if result.billed_seconds is not None else "-"
    return [
        planned.id,
        str(planned.action),
        planned.model,
        planned.mode,
        "yes" if planned.audio else "no",
        str(result.estimate.seconds),
        estimate,
        billed,
        planned.detail,
    ]


def render_cancellations(outcomes: Sequence[Cancellation]) -> list[str]:
    rows = [["ENTRY", "TASK", "OUTCOME", "DETAIL"]]
    rows += [[c.entry_id, c.task_id or "-", str(c.outcome), c.message] for c in outcomes]
    lines = columns(rows)
    canceled = sum(1 for c in outcomes if c.outcome is CancelOutcome.CANCELED)
    lines.append("")
    lines.append(
        f"{canceled} canceled, {len(outcomes) - canceled} not; "
        "`run --retry-failed` renders canceled entries again"
    )
    return lines


def _cancellation_json(outcome: Cancellation) -> dict[str, object]:
    return {
        "id": outcome.entry_id,
        "task_id": outcome.task_id,
        "outcome": str(outcome.outcome),
        "task_status": str(outcome.status) if outcome.status else None,
        "message": outcome.message or None,
    }
