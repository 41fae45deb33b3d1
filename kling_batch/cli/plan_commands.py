"""`plan`: review what `run` would do and spend."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

import kling_batch
from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import load_prices, max_cost_option, prices_option
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonDocument, Text, json_option
from kling_batch.cli.options import (
    base_url_option,
    load_or_exit,
    manifest_argument,
    only_option,
    output_option,
    replace_option,
    resubmit_unknown_option,
    retry_failed_option,
    simulate_option,
)
from kling_batch.collector import collector_paused
from kling_batch.plan import Plan, PlannedEntry
from kling_batch.runner.budget import money
from kling_batch.runner.world import world_note

if TYPE_CHECKING:
    from kling_batch.runner.remote import Refreshed

PLAN_JSON = (
    "One JSON object {manifest, name, output, simulated, currency, prices, entries, actions, "
    "totals, budget, warnings}; docs/plan.md describes entries and totals."
)


@command(ExitCode.INVALID, ExitCode.FATAL)
@manifest_argument
@output_option
@only_option
@replace_option
@retry_failed_option
@resubmit_unknown_option
@prices_option
@max_cost_option
@click.option(
    "--refresh",
    is_flag=True,
    help="First ask DashScope where the tasks in flight stand (needs $DASHSCOPE_API_KEY). "
    "Without it, plan sends nothing anywhere.",
)
@base_url_option
@simulate_option
@json_option(PLAN_JSON)
def plan(
    manifest: Path,
    output_root: Path,
    only: tuple[str, ...],
    replace: tuple[str, ...],
    retry_failed: bool,
    resubmit_unknown: bool,
    prices_file: Path | None,
    max_cost: Decimal | None,
    refresh: bool,
    base_url: str | None,
    simulate: bool,
    as_json: bool,
) -> None:
    """Show what `run` would do with each entry, and what it would cost, with no network.

    Per entry: submit (new), re-render (changed, with the fields that changed), replace
    (--replace), poll (in flight), download, skip (done), failed (needs --retry-failed),
    unknown (an unsettled submission), and the renames of moved: that run carries first; the
    seconds billed and the estimated cost, in total, by model, mode and audio, and by source
    (the entries one written entry expands to). Also the budget and what expires soon. Takes
    the options of `run` that choose what it sends (--only, --replace, --retry-failed,
    --resubmit-unknown, --max-cost, --simulate).
    """
    output: Formatter[Plan] = JsonDocument(Plan.to_json) if as_json else Text(render_plan)
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    if refresh:
        with calling_library(sends=True):
            _tell_refreshed(
                kling_batch.refresh(
                    loaded,
                    output=output_root,
                    only=only,
                    prices=prices,
                    simulate=simulate,
                    base_url=base_url,
                )
            )
    # The plan and its printed lines all live until the process ends: no collection scans them
    # (0.1-0.2 s for 10,000 entries), not even the one that resuming the collector would start.
    with collector_paused():
        with calling_library(sends=False):
            result = kling_batch.plan_run(
                loaded,
                output=output_root,
                only=only,
                replace=replace,
                retry_failed=retry_failed,
                resubmit_unknown=resubmit_unknown,
                max_cost=max_cost,
                prices=prices,
                simulate=simulate,
            )
        output.emit(result)
        gc.freeze()


# -- pieces -----------------------------------------------------------------------------------


def _tell_refreshed(refreshed: Iterable[Refreshed]) -> None:
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
    rows = [header]
    headings: dict[int, str] = {}  # a source's line, before the row of its first entry
    for source in plan.sources:
        if source.expanded:
            headings[len(rows)] = source.headline(currency)
        rows += [_plan_row(planned, nested=source.expanded) for planned in source.entries]
    table = columns(rows, right=frozenset({5, 6, 7}))
    lines.append(table[0])
    for index, line in enumerate(table[1:], start=1):
        if index in headings:
            lines.append(headings[index])
        lines.append(line)
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
    if plan.moved:
        count = len(plan.moved)
        lines.append(
            f"moved: {count} entr{'y' if count == 1 else 'ies'} carried from an old id first "
            "(moved:), at no cost"
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


def _plan_row(planned: PlannedEntry, *, nested: bool = False) -> list[str]:
    """An entry's row; `nested`: under its source's line, indented."""
    result = planned.result
    amount = f"{result.estimate.amount:.2f}"
    estimate = amount if planned.pays else f"({amount})" if planned.may_pay else "-"
    billed = str(result.billed_seconds) if result.billed_seconds is not None else "-"
    return [
        f"  {planned.id}" if nested else planned.id,
        str(planned.action),
        planned.model,
        planned.mode,
        "yes" if planned.audio else "no",
        str(result.estimate.seconds),
        estimate,
        billed,
        planned.detail,
    ]
