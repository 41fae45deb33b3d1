"""`status`: where each entry stands, from the state store alone. Kept apart from `run`, so that
it loads neither the HTTP client nor the runner."""

from __future__ import annotations

import gc
from pathlib import Path

import kling_batch
from kling_batch.cli.columns import columns
from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonLines, Text, json_option
from kling_batch.cli.options import load_or_exit, manifest_argument, only_option, output_option
from kling_batch.collector import collector_paused
from kling_batch.entry_status import Status
from kling_batch.runner.budget import money
from kling_batch.runner.world import world_note

STATUS_JSON = (
    "One JSON object per line, one per entry: its results.jsonl line {id, status, "
    "estimated_seconds, estimated_cost, currency, task_id, task_status, request_id, files, "
    "sha256, usage, billed_seconds, cost, error_code, error_message}, with warnings (what "
    "expires soon) and simulated once the output records where it was made."
)


@command(ExitCode.INVALID)
@manifest_argument
@output_option
@only_option
@prices_option
@json_option(STATUS_JSON)
def status(
    manifest: Path,
    output_root: Path,
    only: tuple[str, ...],
    prices_file: Path | None,
    as_json: bool,
) -> None:
    """Show each entry's state from the state store, with no network.

    Beside each entry: the estimated seconds and cost, and what the service billed
    (usage.duration); below, what expires soon (task ids, video links, uploads).
    """
    output: Formatter[Status] = (
        JsonLines(Status.to_json) if as_json else Text(render_status, notes=_world_notes)
    )
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    # The status and its printed lines all live until the process ends: no collection scans
    # them, not even the one that resuming the collector would start.
    with collector_paused():
        with calling_library(sends=False):
            result = kling_batch.status(loaded, output=output_root, only=only, prices=prices)
        output.emit(result)
        gc.freeze()


def render_status(status: Status) -> list[str]:
    """A table of the entries, what was billed, and what expires soon."""
    table = [["ENTRY", "STATE", "TASK", "EST S", "BILLED S", "EST COST", "COST", "DETAIL"]]
    for result in status.results:
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
                _or_dash(result.cost, "{:.2f}"),
                detail,
            ]
        )
    lines = columns(table, right=frozenset({3, 4, 5, 6}))
    total, billed = status.billed
    if billed:
        lines.append(
            f"billed so far: {money(total, status.currency)} "
            f"({billed} of {len(status.results)} entries)"
        )
    if status.notices:
        lines.append("expiring:")
        lines += [f"  {notice.entry_id}: {notice.message}" for notice in status.notices]
    return lines


def _world_notes(status: Status) -> list[str]:
    note = world_note(status.world)
    return [note] if note else []


def _or_dash(value: object, style: str = "{}") -> str:
    return "-" if value is None else style.format(value)
