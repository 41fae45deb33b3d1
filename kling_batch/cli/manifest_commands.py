"""`kling-batch validate` and `kling-batch schema`: the manifest commands. No network."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kling_batch.cli.exit_codes import ExitCode
from kling_batch.manifest import (
    Analysis,
    MediaInspector,
    analyze,
    render_json,
    render_text,
    schema_text,
)
from kling_batch.manifest.diagnostics import count


@click.command()
@click.argument(
    "manifests", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True)
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON array of the problems ({file, line, column, severity, code, entry, field, "
    "message}) instead of one `FILE:LINE:COL: severity: entry: field: message [CODE]` line "
    "each, for editors and CI.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="`--format json` is the older spelling of --json.",
)
def validate(manifests: tuple[Path, ...], as_json: bool, output_format: str | None) -> None:
    """Check MANIFEST files completely, offline, before anything is spent.

    Reports every problem of every file: YAML, the schema, the rules of the Kling API
    (media combinations, durations, aspect ratios, references, ids) and local media files.
    `-` reads a manifest from standard input. Exits 0 when every manifest is valid (warnings
    allowed), 2 otherwise.
    """
    if as_json and output_format == "text":
        raise click.UsageError("--json and --format text ask for different outputs; give one")
    as_json = as_json or output_format == "json"
    files = MediaInspector()
    analyses = [analyze_argument(path, files) for path in manifests]
    diagnostics = [d for analysis in analyses for d in analysis.diagnostics]
    if as_json:
        click.echo(render_json(diagnostics), nl=False)
    else:
        click.echo(render_text(diagnostics), nl=False)
        for analysis in analyses:
            click.echo(f"{analysis.path}: {_summary(analysis)}", err=True)
    invalid = any(not analysis.ok for analysis in analyses)
    raise SystemExit(ExitCode.INVALID if invalid else ExitCode.OK)


def analyze_argument(path: Path, files: MediaInspector) -> Analysis:
    """A manifest named on the command line; `-` reads it from standard input."""
    if str(path) == "-":
        return analyze(STDIN, files, stream=sys.stdin.buffer)
    return analyze(path, files)


# How diagnostics name a manifest read from standard input; relative paths in it resolve
# against the working folder.
STDIN = Path("<stdin>")


@click.command()
def schema() -> None:
    """Print the manifest JSON Schema (2020-12), for editors and other tools."""
    click.echo(schema_text(), nl=False)


def _summary(analysis: Analysis) -> str:
    errors, warnings = count(analysis.diagnostics)
    noted = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
    if analysis.manifest is None:
        return f"invalid: {errors} error{'s' * (errors != 1)}{noted}"
    entries = len(analysis.manifest.entries)
    return f"valid, {entries} entr{'y' if entries == 1 else 'ies'}{noted}"
