"""`report`: (re)write report.html for a manifest's output, from what is on disk; no network."""

from __future__ import annotations

from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.manifest import ManifestInvalid, load
from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.state import StateStore


@click.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "output_root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OUTPUT_DIR",
    default=Path("output"),
    show_default="$OUTPUT_DIR, else ./output",
    help="Folder that holds <manifest name>/ (the same as given to `run`).",
)
def report(manifest: Path, output_root: Path) -> None:
    """Write <output>/<manifest name>/report.html from the state store, results and events.

    The page is self-contained (open it from disk, or copy the folder anywhere): a header of
    totals, and a card per entry with its prompt, parameters, status, player and files. Safe to
    run while `run` is still working on the same output.
    """
    try:
        loaded = load(manifest)
    except ManifestInvalid as invalid:
        for diagnostic in invalid.diagnostics:
            click.echo(str(diagnostic), err=True)
        raise InvalidInput(f"{manifest}: the manifest is invalid") from None
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    if not layout.state.exists():
        raise InvalidInput(
            f"{layout.folder} holds no run of {manifest} (no {layout.state.name}); "
            f"run it first, or pass the --output folder it was run with"
        )
    # Read-only: a run that holds the lock may be writing; SQLite's WAL lets us read beside it.
    store = StateStore(layout.state, readonly=True)
    try:
        path = write_report(layout, loaded, store)
    finally:
        store.close()
    click.echo(str(path))


def register(group: click.Group) -> None:
    group.add_command(report)
