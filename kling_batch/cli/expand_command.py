"""`kling-batch expand`: a manifest with its vars, matrices, rows and takes written out."""

from __future__ import annotations

from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.manifest_commands import analyze_argument
from kling_batch.manifest import MediaInspector, expanded_yaml


@command(ExitCode.INVALID)
@click.argument("manifest", type=click.Path(path_type=Path, allow_dash=True))
def expand(manifest: Path) -> None:
    """Print MANIFEST with every entry its vars, matrix, rows and takes make, as plain YAML.

    The output has `version: 1`, the same name and the same ids; it validates and gives every
    entry the same request body. Its relative paths resolve against MANIFEST's folder, so save
    it beside MANIFEST. `-` reads the manifest from standard input. Problems go to stderr; an
    invalid manifest prints nothing on stdout and exits 2. No network.
    """
    analysis = analyze_argument(manifest, MediaInspector())
    for diagnostic in analysis.diagnostics:
        click.echo(str(diagnostic), err=True)
    if analysis.manifest is None:
        raise InvalidInput(f"{analysis.path}: the manifest is invalid; nothing to expand")
    click.echo(expanded_yaml(analysis), nl=False)
