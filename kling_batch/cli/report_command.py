"""`report`: (re)write report.html for a manifest's output, from what is on disk; no network."""

from __future__ import annotations

from pathlib import Path

import click

from kling_batch.cli.cost_options import load_prices, prices_option
from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.options import load_or_exit, manifest_argument, output_option
from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.state import StateStore


@click.command()
@manifest_argument
@output_option
@prices_option
def report(manifest: Path, output_root: Path, prices_file: Path | None) -> None:
    """Write <output>/<manifest name>/report.html from the state store, results and events.

    The page is self-contained (open it from disk, or copy the folder anywhere): a header of
    totals, and a card per entry with its prompt, parameters, status, player and files. Safe to
    run while `run` is still working on the same output.
    """
    loaded = load_or_exit(manifest)
    prices = load_prices(prices_file)
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    if not layout.state.exists():
        raise InvalidInput(
            f"{layout.folder} holds no run of {manifest} (no {layout.state.name}); "
            f"run it first, or pass the --output folder it was run with"
        )
    # Read-only: a run that holds the lock may be writing; SQLite's WAL lets us read beside it.
    store = StateStore(layout.state, readonly=True)
    try:
        path = write_report(layout, loaded, store, prices=prices)
    finally:
        store.close()
    click.echo(str(path))
