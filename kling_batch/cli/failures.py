"""What the library raises, as the exit statuses of the contract: mapped once, here, for every
command that calls it, and named by meaning, never by message text."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click

from kling_batch.api.errors import AccountError, ConfigurationError
from kling_batch.cli.errors import FatalError, InvalidInput
from kling_batch.library import NoRun, UnusableOutput
from kling_batch.prices import PriceTableError
from kling_batch.runner.budget import BudgetError, BudgetExceeded
from kling_batch.runner.lock import StateLocked
from kling_batch.runner.options import SelectionError
from kling_batch.runner.world import WorldMismatch


def _invalid() -> tuple[type[Exception], ...]:
    """Refused before anything was sent: the user changes the command line, the manifest or the
    output folder (exit 2). A function, so that MoveRefused (beside the runner, which a command
    that sends nothing does not load) is imported only once something was raised."""
    from kling_batch.runner.moves import MoveRefused

    return (
        BudgetError,
        BudgetExceeded,
        ConfigurationError,
        MoveRefused,
        NoRun,
        PriceTableError,
        SelectionError,
        UnusableOutput,
        WorldMismatch,
    )


@contextmanager
def calling_library(*, sends: bool = True, any_error_is_fatal: bool = False) -> Iterator[None]:
    """Around a library call: its errors as exit codes with their message, and its retries
    shown as events or a summary rather than as stamina's bare log lines. `sends`: whether the
    call may reach the service (only then can it retry, and stamina is worth loading).

    With `any_error_is_fatal` (a run, whose summary and notification already said exit 3), an
    error of no known kind (a bug, a full disk) exits 3 too, after its traceback, which a bug
    report needs; it would otherwise be Python's own exit 1, which means "an entry failed"."""
    if sends:
        import stamina

        stamina.instrumentation.set_on_retry_hooks([])
    try:
        yield
    except StateLocked as locked:
        raise FatalError(f"{locked}; Ctrl-C keeps its state") from None
    except AccountError as error:
        raise FatalError(str(error)) from None
    except _invalid() as refused:  # evaluated only when something was raised
        raise InvalidInput(str(refused)) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # already the command's own answer
    except Exception as error:
        if not any_error_is_fatal:
            raise
        click.echo(traceback.format_exc().rstrip(), err=True)
        stopped = f"stopped on an unexpected error: {type(error).__name__}: {error}"
        raise FatalError(stopped) from None
