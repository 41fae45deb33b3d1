"""What an error that surfaces while an entry is moved on means for the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from kling_batch.api import (
    AccountError,
    RequestRejected,
    ThrottledError,
    TransientError,
)
from kling_batch.runner.downloads import DownloadError
from kling_batch.runner.events import EntryFailed, EventLog, Fatal


class Stoppable(Protocol):
    """The run an entry belongs to (runner/entry_flow.py's EntryFlow)."""

    events: EventLog
    fatal: str | None

    def stop(self) -> None: ...


@contextmanager
def guarded(run: Stoppable, entry_id: str) -> Iterator[None]:
    """Log an error moving `entry_id` on, and stop `run` for one that ends it; never raise."""
    try:
        yield
    except AccountError as error:
        run.fatal = str(error)
        run.events.emit(Fatal(entry_id, code=error.code, message=error.message))
        run.stop()
    except (TransientError, ThrottledError, RequestRejected, DownloadError) as error:
        # The service stayed out of reach (or refused a query) for this entry through the
        # bounded retries. What is known is in the state store; the next run goes on from there.
        run.events.emit(
            EntryFailed(
                entry_id,
                code=getattr(error, "code", None) or type(error).__name__,
                message=str(error),
                resumable=True,
            )
        )
    except Exception as error:  # a bug or the machine (disk full): stop, keep what is known
        run.fatal = f"{type(error).__name__}: {error}"
        run.events.emit(Fatal(entry_id, code=type(error).__name__, message=str(error)))
        run.stop()
