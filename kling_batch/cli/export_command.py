"""`export`: copy the done videos to a delivery folder, verified, with delivery.csv/json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import kling_batch
from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonDocument, Text, json_option
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.delivery.export import ExportRefused, ExportResult
from kling_batch.delivery.names import DEFAULT_NAME, NAME_FIELDS

_FIELDS = ", ".join(NAME_FIELDS)
EXPORT_JSON = (
    "One JSON object {folder, delivered, failures, warnings, sheets}: each video delivered "
    "{id, file, copied}, each one not delivered because its bytes changed {id, reason}, the "
    "warnings, and the paths of delivery.csv and delivery.json."
)


@command(ExitCode.ENTRY_FAILED, ExitCode.INVALID, name="export")
@manifest_argument
@click.option(
    "--to",
    "destination",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to deliver to (made if missing).",
)
@output_option
@click.option(
    "--picked",
    is_flag=True,
    help="Only each group's pick (see `pick`); groups without one are left out, with a warning.",
)
@click.option(
    "--name",
    "name_template",
    default=DEFAULT_NAME,
    metavar="TEMPLATE",
    help=f"File name of each copy, from the fields {_FIELDS}, e.g. '{{group}}-{{take}}.mp4'. "
    "The model is its short name (standard, omni), the aspect ratio reads 16x9, take is empty "
    f"for an entry without takes. Default {DEFAULT_NAME}.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace files in the folder that have the same name but other bytes.",
)
@prices_option
@json_option(EXPORT_JSON)
def export_command(
    manifest: Path,
    destination: Path,
    output_root: Path,
    picked: bool,
    name_template: str,
    force: bool,
    prices_file: Path | None,
    as_json: bool,
) -> None:
    """Copy MANIFEST's done videos from the output to the --to folder, and describe them.

    Each copy is written under a temporary name and renamed only once its sha256 matches the
    one recorded when the video was downloaded, so a copy cut short never sits under the final
    name. A file already there with the same bytes is kept (running it again is harmless).
    Beside the videos: delivery.csv and delivery.json (id, group, take, file, sha256, bytes,
    duration, size, aspect_ratio, prompt, task_id, billed_seconds, cost, currency).
    Exit status 1: some video did not match its record and was not delivered; 2: nothing was
    copied (an unknown name field, names that collide, other files in the way, see --force, or
    nothing to deliver).
    """
    output: Formatter[ExportResult] = (
        JsonDocument(_as_json) if as_json else Text(_delivered_paths, notes=_notes)
    )
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    try:
        with calling_library(sends=False):
            result = kling_batch.export(
                loaded,
                to=destination,
                output=output_root,
                picked=picked,
                name=name_template,
                force=force,
                prices=prices,
            )
    except ExportRefused as refused:
        _warn(refused.warnings)
        raise InvalidInput(str(refused)) from None
    if as_json:
        _warn(result.warnings)  # in the document too; stderr keeps them in sight of a person
    output.emit(result)
    if result.failures:
        raise SystemExit(ExitCode.ENTRY_FAILED)


def _as_json(result: ExportResult) -> dict[str, Any]:
    return {
        "folder": str(result.folder),
        "delivered": [
            {"id": item.entry_id, "file": str(item.path), "copied": item.copied}
            for item in result.delivered
        ],
        "failures": [{"id": f.entry_id, "reason": f.reason} for f in result.failures],
        "warnings": list(result.warnings),
        "sheets": {"csv": str(result.sheets[0]), "json": str(result.sheets[1])},
    }


def _delivered_paths(result: ExportResult) -> list[str]:
    return [str(item.path) for item in result.delivered]


def _notes(result: ExportResult) -> list[str]:
    lines = [f"warning: {warning}" for warning in result.warnings]
    lines += [f"error: {f.entry_id}: {f.reason}" for f in result.failures]
    kept = sum(1 for item in result.delivered if not item.copied)
    same = f" ({kept} already there)" if kept else ""
    count = len(result.delivered)
    lines.append(
        f"{count} video{'' if count == 1 else 's'} in {result.folder}{same}; "
        f"{result.sheets[0].name} and {result.sheets[1].name} written"
    )
    return lines


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
