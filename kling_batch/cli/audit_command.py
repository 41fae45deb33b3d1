"""`audit`: the account's unclaimed tasks of a manifest's models, and handing them to entries."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import anyio
import click

from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.cli.service import (
    base_url_option,
    connection_or_exit,
    service_errors,
    simulate_option,
)
from kling_batch.runner.audit import UnclaimedTask, audit_output
from kling_batch.runner.budget import money


@click.command()
@manifest_argument
@output_option
@base_url_option
@simulate_option("Audit on the built-in simulator (it knows only its own process's tasks).")
@prices_option
@click.option(
    "--adopt",
    is_flag=True,
    help="Hand each task that resembles exactly one entry (and is the only task resembling it) "
    "to that entry when it has no task yet, so that `run` downloads it instead of paying again.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the tasks.")
def audit(
    manifest: Path,
    output_root: Path,
    base_url: str,
    simulate: bool,
    prices_file: Path | None,
    adopt: bool,
    as_json: bool,
) -> None:
    """List the tasks of MANIFEST's models created in the last 24 hours that no entry claims.

    They are left over from a crash, another tool or a colleague's script, and were paid for.
    Each row shows the entries whose prompt the task echoes (RESEMBLES). Never creates a task.
    Exit status: 0 listed, 2 invalid input or an output made on another service or account,
    3 account error or the output is in use.
    """
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    connection = connection_or_exit(base_url, simulate=simulate)
    with service_errors():
        found = anyio.run(
            lambda: audit_output(loaded, connection, output_root, prices=prices, adopt=adopt)
        )
    if as_json:
        click.echo(json.dumps([row.to_json() for row in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"no unclaimed task of {loaded.name}'s models in the last 24 h")
        return
    for line in _table(found, prices.currency):
        click.echo(line)


def _table(found: tuple[UnclaimedTask, ...], currency: str) -> list[str]:
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
