"""User-facing command errors, each with the exit status the contract gives it (spec §2)."""

from __future__ import annotations

import click

from kling_batch.cli.exit_codes import ExitCode


class InvalidInput(click.ClickException):
    """The manifest or the command line is invalid; nothing was sent."""

    exit_code = ExitCode.INVALID


class FatalError(click.ClickException):
    """The command could not go on (the output is locked by another run, a fatal error)."""

    exit_code = ExitCode.FATAL
