"""`report`: (re)write report.html for a manifest's output, from what is on disk; no network."""

from __future__ import annotations

from pathlib import Path

import kling_batch
from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import Formatter, JsonDocument, Text, json_option
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option

REPORT_JSON = "One JSON object {report}: the path of the page written."


@command(ExitCode.INVALID)
@manifest_argument
@output_option
@prices_option
@json_option(REPORT_JSON)
def report(manifest: Path, output_root: Path, prices_file: Path | None, as_json: bool) -> None:
    """Write report.html for a manifest's output, from the state store, results and events.

    The page, <output>/<manifest name>/report.html, is self-contained (open it from disk, or
    copy the folder anywhere): a header of totals, and a card per entry with its poster frame
    and player, input images, prompt, parameters, status, render time, cost, next step and
    files; the takes of a group side by side with the pick marked; filters by state, model and
    group. Beside it: each video's poster.jpg (made once per video) and contact-sheet.png.
    Safe to run while `run` is still working on the same output.
    """
    output: Formatter[Path] = (
        JsonDocument(lambda page: {"report": str(page)})
        if as_json
        else Text(lambda page: [str(page)])
    )
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    with calling_library(sends=False):
        page = kling_batch.write_report(loaded, output=output_root, prices=prices)
    output.emit(page)
