"""How the commands that reach DashScope (or the simulator) choose it, and the errors of that.

`run`, `plan --refresh`, `cancel` and `audit` share these options, so that every one of them
can be pointed at the same service an output was made on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import stamina

from kling_batch.api import (
    DEFAULT_BASE_URL,
    AccountError,
    ApiKey,
    ConfigurationError,
    api_key_from_env,
    require_secure_url,
)
from kling_batch.cli.errors import FatalError, InvalidInput
from kling_batch.runner.connection import Connection
from kling_batch.runner.lock import StateLocked
from kling_batch.runner.world import WorldMismatch

F = TypeVar("F", bound=Callable[..., Any])

# The in-process simulator's pretend address; its key is no secret.
SIMULATED_BASE_URL = "http://localhost/api/v1"
_SIMULATED_KEY = "simulated-key"

base_url_option = click.option(
    "--base-url",
    envvar="DASHSCOPE_BASE_URL",
    metavar="URL",
    default=DEFAULT_BASE_URL,
    show_default="$DASHSCOPE_BASE_URL, else DashScope Beijing",
    help="DashScope API base URL. Plain http:// only for a loopback host (a local simulator).",
)


def simulate_option(help_text: str) -> Callable[[F], F]:
    return click.option("--simulate", is_flag=True, help=help_text)


def connection_or_exit(
    base_url: str, *, simulate: bool = False, render_seconds: float = 3.0
) -> Connection:
    """The connection a command asked for; exit 2 for a bad URL or a missing key."""
    # Retries reach the user as events or a summary, not as stamina's bare log lines.
    stamina.instrumentation.set_on_retry_hooks([])
    if simulate:
        # Imported here: only --simulate needs the simulator in this process.
        from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

        simulator = Simulator(SimulatorConfig(render_seconds=render_seconds))
        return Connection(
            base_url=SIMULATED_BASE_URL,
            api_key=ApiKey(_SIMULATED_KEY),
            transport=simulator_transport(simulator),
            in_process=True,
        )
    try:
        return Connection(base_url=require_secure_url(base_url), api_key=api_key_from_env())
    except ConfigurationError as error:
        raise InvalidInput(str(error)) from None


@contextmanager
def service_errors() -> Iterator[None]:
    """What stops a command that reaches the service before or without a run, as exit codes."""
    try:
        yield
    except WorldMismatch as mismatch:
        raise InvalidInput(str(mismatch)) from None
    except StateLocked as locked:
        raise FatalError(f"{locked}; Ctrl-C keeps its state") from None
    except AccountError as error:
        raise FatalError(str(error)) from None


def usable_output(folder: Path) -> None:
    """Exit 2, with the reason, when an output folder cannot be made or written."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    problem = None
    if not probe.is_dir():
        problem = f"{probe} is not a folder"
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            check = folder / ".kling-batch-write-check"
            check.write_bytes(b"")
            check.unlink()
        except OSError as error:
            problem = error.strerror or str(error)
    if problem:
        raise InvalidInput(
            f"cannot write the output folder {folder}: {problem}; choose another with --output"
        )
