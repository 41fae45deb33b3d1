"""`audit`: the account's unclaimed tasks of a manifest's models, and handing them to entries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

import kling_batch
from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonDocument, Text, json_option
from kling_batch.cli.options import (
    base_url_option,
    load_or_exit,
    manifest_argument,
    output_option,
    simulate_option,
)
from kling_batch.runner.audit import UnclaimedTask
from kling_batch.runner.budget import money

AUDIT_JSON = (
    "A JSON array of the unclaimed tasks, each {task_id, model, status, created, "
    "billed_seconds, cost, resembles, adopted_by}."
)


@command(ExitCode.INVALID, ExitCode.FATAL)
@manifest_argument
@output_option
@base_url_option
@simulate_option
@prices_option
@click.option(
    "--adopt",
    is_flag=True,
    help="Hand each task that resembles exactly one entry (and is the only task resembling it) "
    "to that entry when it has no task yet, so that `run` downloads it instead of paying again.",
)
@json_option(AUDIT_JSON)
def audit(
    manifest: Path,
    output_root: Path,
    base_url: str | None,
    simulate: bool,
    prices_file: Path | None,
    adopt: bool,
    as_json: bool,
) -> None:
    """List the account's tasks of MANIFEST's models from the last 24 h that no entry claims.

    They are left over from a crash, another tool or a colleague's script, and were paid for.
    Each row shows the entries whose prompt the task echoes (RESEMBLES). Never creates a task.
    """
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    output: Formatter[tuple[UnclaimedTask, ...]] = (
        JsonDocument(lambda found: [task.to_json() for task in found])
        if as_json
        else Text(lambda found: _table(found, loaded.name, prices.currency))
    )
    with calling_library():
        found = kling_batch.audit(
            loaded,
            output=output_root,
            adopt=adopt,
            prices=prices,
            simulate=simulate,
            base_url=base_url,
        )
    output.emit(found)


def _table(found: tuple[UnclaimedTask, ...], name: str, currency: str) -> list[str]:
    if not found:
        return [f"no unclaimed task of {name}'s models in the last 24 h"]
    rows = [["TASK", "MODEL", "STATUS", "CREATED", "BILLED S", "COST", "RESEMBLES"]]
    for row in found:
        resembles = ", ".join(row.resembles) or "-"
        if row.adopted_by:
            resembles += f" (adopted by {row.adopted_by})"
        rows.append(
            [
                row.task_id,
                row.model.removeprefix("kling/"),
                str(row.status),
                row.to_json()["created"] or "-",
                "-" if row.billed_seconds is None else str(row.billed_seconds),
                "-" if row.cost is None else money(row.cost, currency),
                resembles,
            ]
        )
    lines = columns(rows, right=frozenset({4, 5}))
    billed = [row.cost for row in found if row.cost is not None]
    lines.append("")
    lines.append(
        f"{len(found)} unclaimed task{'s' if len(found) != 1 else ''}"
        + (f", billed {money(sum(billed, Decimal(0)), currency)}" if billed else "")
        + ("" if any(r.adopted_by for r in found) else "; `audit --adopt` hands unambiguous ones")
    )
    return lines
