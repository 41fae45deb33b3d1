"""`pick`: record the chosen take of a group in `<manifest stem>.picks.yaml`; no network."""

from __future__ import annotations

from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.delivery.picks import PickRefused, PicksInvalid, clear_pick, pick
from kling_batch.runner.artifacts import OutputLayout


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
def pick_command(
    manifest: Path, entry_id: str | None, output_root: Path, clear_group: str | None
) -> None:
    """Record ENTRY_ID, a done take, as the one of its group to deliver.

    A group is an entry's takes, or its matrix cells; a plain entry is a group of its own.
    The entry must be done in the output (its video downloaded and intact). The pick is written
    to <manifest stem>.picks.yaml beside MANIFEST, sorted by group, to review and commit with
    the manifest; picking another take of the group replaces it. `export --picked` delivers the
    picks only.
    """
    if (entry_id is None) == (clear_group is None):
        raise click.UsageError("give either ENTRY_ID, or --clear GROUP")
    loaded = load_or_exit(manifest)
    try:
        if clear_group is not None:
            change = clear_pick(loaded, clear_group)
        else:
            assert entry_id is not None
            layout = OutputLayout.for_manifest(output_root, loaded.name)
            change = pick(loaded, layout, entry_id)
    except (PickRefused, PicksInvalid) as refused:
        raise InvalidInput(str(refused)) from None
    if change.picked is None and change.changed:
        done = f"cleared the pick of {change.group}"
    elif change.picked is None:
        done = f"{change.group} had no pick"
    elif not change.changed:
        done = f"{change.picked} was already the pick of {change.group}"
    else:
        was = f" (was {change.previous})" if change.previous else ""
        done = f"picked {change.picked} for group {change.group}{was}"
    click.echo(f"{done}; {change.path}")
