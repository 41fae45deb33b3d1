"""The argument and options that several commands share, each declared once with one help
text: the README's options table repeats these texts (tests/cli/test_help_and_readme.py).
`--json` is in formats.py, `--prices` and `--max-cost` in cost_options.py."""

from __future__ import annotations

import gc
from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.collector import collector_paused
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
    metavar="DIR",
    help="Where results go: <manifest name>/ with the state, logs and videos. Default "
    "$OUTPUT_DIR, else ./output.",
)
only_option = click.option(
    "--only",
    multiple=True,
    metavar="ID",
    help="Only the entries whose id matches ID (repeatable; glob patterns such as 'hero-*').",
)
replace_option = click.option(
    "--replace",
    multiple=True,
    metavar="ID",
    help="Render the entries whose id matches ID again although they did not change (repeatable; "
    "globs as for --only): done, failed, canceled or expired ones; an entry in flight is left "
    "to end. The old render is set aside.",
)
retry_failed_option = click.option(
    "--retry-failed", is_flag=True, help="Render failed, canceled and expired entries again."
)
resubmit_unknown_option = click.option(
    "--resubmit-unknown",
    is_flag=True,
    help="Send again the entries whose submission could not be settled. This may pay twice.",
)
base_url_option = click.option(
    "--base-url",
    envvar="DASHSCOPE_BASE_URL",
    metavar="URL",
    default=None,
    help="The DashScope API base URL. Default $DASHSCOPE_BASE_URL, else Beijing. Plain "
    "http:// is allowed only for a loopback host (a local simulator).",
)
simulate_option = click.option(
    "--simulate",
    is_flag=True,
    help="Use the built-in simulator, in this process: no key, no network, nothing paid. Its "
    "tasks end with the process, so a resumed simulated run renders unfinished entries again, "
    "and cancel and audit find no task of an earlier one. An output made with --simulate is "
    "kept for simulated runs.",
)


def load_or_exit(path: Path) -> Manifest:
    """The manifest, or exit 2 with every problem on stderr."""
    # A command is one process: what loading allocated lives until it exits. Frozen, those
    # objects (hundreds of thousands for 10,000 entries) are left out of every later collection;
    # frozen before the collector resumes, they are not scanned even once (0.05 s).
    with collector_paused():
        try:
            manifest = load(path)
        except ManifestInvalid as invalid:
            for diagnostic in invalid.diagnostics:
                click.echo(str(diagnostic), err=True)
            raise InvalidInput(f"{path}: the manifest is invalid; nothing was sent") from None
        gc.freeze()
    return manifest
