"""The `kling-batch` command line: a thin layer of click commands over the library."""

from __future__ import annotations

import click

from kling_batch import __version__
from kling_batch.cli import (
    manifest_commands,
    plan_commands,
    report_command,
    run_commands,
    simulator_command,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kling-batch")
def main() -> None:
    """Validate, plan and run batches of Kling V3 video renders on DashScope.

    A YAML manifest lists the shots and storyboards; `validate` checks it offline, `run` renders
    it with bounded concurrency and resumes after any interruption.
    """


manifest_commands.register(main)
run_commands.register(main)
plan_commands.register(main)
report_command.register(main)
simulator_command.register(main)
