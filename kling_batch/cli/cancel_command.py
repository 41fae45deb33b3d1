"""`cancel`: stop the tasks still waiting."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import kling_batch
from kling_batch.cli.columns import columns
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonLines, Text, json_option
from kling_batch.cli.options import (
    base_url_option,
    load_or_exit,
    manifest_argument,
    only_option,
    output_option,
    simulate_option,
)
from kling_batch.runner.remote import Cancellation, CancelOutcome

CANCEL_JSON = (
    "One JSON object per line, one per entry in flight: {id, task_id, outcome, task_status, "
    "message}; nothing when none was in flight."
)


@command(ExitCode.ENTRY_FAILED, ExitCode.INVALID, ExitCode.FATAL)
@manifest_argument
@output_option
@only_option
@base_url_option
@simulate_option
@json_option(CANCEL_JSON)
def cancel(
    manifest: Path,
    output_root: Path,
    only: tuple[str, ...],
    base_url: str | None,
    simulate: bool,
    as_json: bool,
) -> None:
    """Cancel the manifest's tasks that are still PENDING remotely.

    Tasks already rendering or finished cannot be canceled (DashScope cancels only PENDING
    ones); they are reported, and the state learns where they stand. Canceled entries are
    rendered again by `run --retry-failed`. Stop a running `run` first (Ctrl-C keeps its
    state). Exits 1 when some task could not be canceled.
    """
    loaded = load_or_exit(manifest)
    output: Formatter[tuple[Cancellation, ...]] = (
        JsonLines(lambda outcomes: map(_cancellation_json, outcomes))
        if as_json
        else Text(lambda outcomes: render_cancellations(outcomes, loaded.name))
    )
    with calling_library():
        outcomes = kling_batch.cancel(
            loaded, output=output_root, only=only, simulate=simulate, base_url=base_url
        )
    output.emit(outcomes)
    if any(outcome.outcome is not CancelOutcome.CANCELED for outcome in outcomes):
        raise SystemExit(ExitCode.ENTRY_FAILED)


def render_cancellations(outcomes: Sequence[Cancellation], name: str) -> list[str]:
    if not outcomes:
        return [f"nothing to cancel: no task of {name} is in flight"]
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
