"""Exit statuses of the contract (spec §2): their codes and their one wording, which every
command's `--help` shows and the README's table repeats (tests/cli/test_help_and_readme.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

import click


class ExitCode(IntEnum):
    OK = 0
    ENTRY_FAILED = 1
    INVALID = 2
    FATAL = 3
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success: the manifest is valid, or everything asked for was done",
    ExitCode.ENTRY_FAILED: (
        "the command finished, but some entry did not end done (it failed, was canceled, "
        "expired, is unknown or was not sent), or, for `cancel`, some task could not be canceled"
    ),
    ExitCode.INVALID: (
        "invalid input (the manifest, the command line, or an output made on another service "
        "or account); nothing was sent"
    ),
    ExitCode.FATAL: (
        "an account-level error (bad key, arrears, region) or another fatal error, such as an "
        "output in use by another run"
    ),
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, SIGTERM); the state is saved, and the same "
    "command resumes",
}


def format_exit_codes(formatter: click.HelpFormatter, codes: Sequence[ExitCode]) -> None:
    with formatter.section("Exit status"):
        formatter.write_dl([(str(int(code)), code.meaning) for code in codes])


class CommandWithExitCodes(click.Command):
    """A command whose `--help` ends with the exit statuses it can return."""

    def __init__(self, *args: Any, exit_codes: Sequence[ExitCode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exit_codes = tuple(exit_codes)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_exit_codes(formatter, self.exit_codes)
        super().format_epilog(ctx, formatter)


def command(
    *exit_codes: ExitCode, name: str | None = None
) -> Callable[[Callable[..., Any]], CommandWithExitCodes]:
    """`click.command`, with the exit statuses the command can return (0 is always one)."""
    codes = sorted({ExitCode.OK, *exit_codes})
    return click.command(name, cls=CommandWithExitCodes, exit_codes=codes)
