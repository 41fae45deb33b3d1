"""`pick`: record the chosen take of a group in `<manifest stem>.picks.yaml`; no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import kling_batch
from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonDocument, Text, json_option
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.delivery.picks import PickChange, PickRefused, PicksInvalid

PICK_JSON = (
    "One JSON object {picks_file, group, picked, previous, changed}: the group, the entry now "
    "picked for it (null once cleared), the one picked before, and whether the file changed."
)


@command(ExitCode.INVALID, name="pick")
@manifest_argument
@click.argument("entry_id", required=False)
@output_option
@click.option(
    "--clear",
    "clear_group",
    metavar="GROUP",
    help="Remove the pick of GROUP instead (give no ENTRY_ID).",
)
@json_option(PICK_JSON)
def pick_command(
    manifest: Path,
    entry_id: str | None,
    output_root: Path,
    clear_group: str | None,
    as_json: bool,
) -> None:
    """Record ENTRY_ID, a done take, as the one of its group to deliver.

    A group is an entry's takes, or its matrix cells; a plain entry is a group of its own.
    The entry must be done in the output (its video downloaded and intact). The pick is written
    to <manifest stem>.picks.yaml beside MANIFEST, sorted by group, to review and commit with
    the manifest; picking another take of the group replaces it. `export --picked` delivers the
    picks only. The report shows, on each done take, the command that picks it.
    """
    if (entry_id is None) == (clear_group is None):
        raise click.UsageError("give either ENTRY_ID, or --clear GROUP")
    output: Formatter[PickChange] = (
        JsonDocument(_as_json) if as_json else Text(lambda change: [_sentence(change)])
    )
    loaded = load_or_exit(manifest)
    try:
        with calling_library(sends=False):
            change = kling_batch.pick(loaded, entry_id, output=output_root, clear=clear_group)
    except (PickRefused, PicksInvalid) as refused:
        raise InvalidInput(str(refused)) from None
    output.emit(change)


def _as_json(change: PickChange) -> dict[str, Any]:
    return {
        "picks_file": str(change.path),
        "group": change.group,
        "picked": change.picked,
        "previous": change.previous,
        "changed": change.changed,
    }


def _sentence(change: PickChange) -> str:
    if change.picked is None and change.changed:
        done = f"cleared the pick of {change.group}"
    elif change.picked is None:
        done = f"{change.group} had no pick"
    elif not change.changed:
        done = f"{change.picked} was already the pick of {change.group}"
    else:
        was = f" (was {change.previous})" if change.previous else ""
        done = f"picked {change.picked} for group {change.group}{was}"
    return f"{done}; {change.path}"
