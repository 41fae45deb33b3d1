"""The argument and options every manifest command shares, and how they load the manifest."""

from __future__ import annotations

from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.manifest import ManifestInvalid, load
from kling_batch.manifest.model import Manifest

manifest_argument = click.argument(
    "manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
output_option = click.option(
    "--output",
    "output_root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OUTPUT_DIR",
    default=Path("output"),
    show_default="$OUTPUT_DIR, else ./output",
    help="Folder that holds <manifest name>/ with the state, logs and videos.",
)


def load_or_exit(path: Path) -> Manifest:
    try:
        return load(path)
    except ManifestInvalid as invalid:
        for diagnostic in invalid.diagnostics:
            click.echo(str(diagnostic), err=True)
        raise InvalidInput(f"{path}: the manifest is invalid; nothing was sent") from None
