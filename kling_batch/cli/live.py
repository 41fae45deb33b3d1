"""The live terminal display of a run: a rich panel redrawn in place, with a line printed above it
for each thing worth keeping in the scrollback (an entry done or failed, a retry, a stop).

It is an EventSink like the plain and JSON ones. It starts on the first event and stops itself
on `run_finished`; as a context manager (and, as a last resort, at interpreter exit) it also
stops when the run ends any other way, so the terminal is never left with a hidden cursor or a
half-drawn panel.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from kling_batch.cli.tally import InFlight, Phase, RunTally
from kling_batch.manifest.model import Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.events import (
    EntryChanged,
    EntryDone,
    EntryFailed,
    EntryUnknown,
    Event,
    Fatal,
    Interrupted,
    Reconciled,
    Retry,
    RunFinished,
    SubmitAmbiguous,
)

_MAX_ROWS = 10  # in-flight rows shown; the account runs at most 10 Kling tasks at once anyway
_PHASE_STYLES = {
    Phase.DONE: "green",
    Phase.FAILED: "red",
    Phase.UNKNOWN: "red",
    Phase.SKIPPED: "dim",
    Phase.QUEUED: "dim",
    Phase.RUNNING: "cyan",
    Phase.PENDING: "blue",
    Phase.DOWNLOADING: "magenta",
}


class LiveDisplay:
    """Progress with ETA, counts per phase, tasks in flight with their age, billed seconds and
    cost so far, and retries and throttling as they happen."""

    def __init__(
        self,
        manifest: Manifest | None = None,
        *,
        console: Console | None = None,
        prices: PriceTable | None = None,
        clock: Callable[[], float] = time.time,
        refresh_per_second: float = 4.0,
    ) -> None:
        self.console = console or Console(stderr=True)
        self._tally = RunTally.for_manifest(manifest, prices or _shipped_prices())
        self._clock = clock
        self._refresh = refresh_per_second
        # emit() runs on the event loop's thread, redraws on rich's refresh thread.
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._closed = False

    @property
    def active(self) -> bool:
        return self._live is not None

    def __enter__(self) -> LiveDisplay:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        if self._live is not None or self._closed:
            return
        self._live = Live(
            console=self.console,
            get_renderable=self.renderable,
            refresh_per_second=self._refresh,
            transient=False,  # the last frame stays: the run's summary in the scrollback
        )
        self._live.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Draw the last frame and give the terminal back; safe to call more than once."""
        self._closed = True
        live, self._live = self._live, None
        if live is not None:
            live.stop()
            atexit.unregister(self.close)

    def emit(self, event: Event) -> None:
        with self._lock:
            self._tally.apply(event)
        self.start()
        line = notice(event)
        if line is not None:
            # Soft-wrapped: one line in the scrollback, whole when copied, whatever the width.
            self.console.print(line, soft_wrap=True)  # above the panel while it is live
        if isinstance(event, RunFinished):
            self.close()

    def renderable(self) -> RenderableType:
        with self._lock:
            return render(self._tally, self._clock())


def render(tally: RunTally, now: float) -> RenderableType:
    """One frame of the panel."""
    finished = tally.finished
    total = max(tally.total, finished)
    header = Table.grid(padding=(0, 1))
    header.add_row(
        ProgressBar(total=total or 1, completed=finished, width=30),
        Text(_progress_text(tally, now, finished, total)),
    )
    parts: list[RenderableType] = [header, _counts(tally)]
    money = f"billed {'~' if tally.billed_estimated else ''}{tally.billed_seconds} s"
    if tally.currency:
        money += f" · {tally.currency} {tally.cost:,.2f} so far"
    retries = f"retries {tally.retries} (throttled {tally.throttled})"
    parts.append(Text(f"{money} · {retries}", style="yellow" if tally.retries else ""))
    if tally.stopping:
        parts.append(Text(f"{tally.stopping}: finishing what was sent; state is saved", "bold"))
    working = tally.in_flight()
    if working:
        parts.append(_in_flight_table(working[:_MAX_ROWS], now, len(working)))
    return Group(*parts)


def _progress_text(tally: RunTally, now: float, finished: int, total: int) -> str:
    percent = 100 * finished / total if total else 0
    text = f"{finished}/{total} entries · {percent:.0f}% · elapsed {_clock(tally.elapsed(now))}"
    if tally.finished_at is None:
        eta = tally.eta(now)
        text += f" · ETA {_clock(eta) if eta is not None else '?'}"
    return text


def _counts(tally: RunTally) -> Text:
    text = Text()
    for phase, count in tally.counts().items():
        if text:
            text.append("  ")
        text.append(f"{phase} {count}", style=_PHASE_STYLES.get(phase, ""))
    return text


def _in_flight_table(rows: list[InFlight], now: float, total: int) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("in flight", no_wrap=True, overflow="ellipsis", max_width=40)
    table.add_column("status", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("task", no_wrap=True, overflow="ellipsis", style="dim")
    for row in rows:
        table.add_row(
            Text(row.entry_id),
            Text(str(row.phase), style=_PHASE_STYLES.get(row.phase, "")),
            _clock(max(0.0, now - row.since)),
            Text(row.task_id or ""),
        )
    if total > len(rows):
        table.add_row(Text(f"… and {total - len(rows)} more", style="dim"), "", "", "")
    return table


def notice(event: Event) -> Text | None:
    """The line an event leaves in the scrollback, or None for the ones the panel covers.

    Built from Text pieces, never markup: ids, messages and reasons are not ours, and a `[red]`
    in an error message must print as itself.
    """
    match event:
        case EntryDone():
            return _line("✓ ", "green", event.entry_id, " done")
        case EntryFailed():
            detail = ": ".join(text for text in (event.code, event.message) if text)
            request = f" (request {event.request_id})" if event.request_id else ""
            return _line("✗ ", "red", event.entry_id, f" failed: {detail}{request}")
        case EntryUnknown():
            return _line("? ", "red", event.entry_id, f" could not be settled: {event.reason}")
        case EntryChanged():
            said = event.message or "changed in the manifest: rendering it again"
            return _line("~ ", "cyan", event.entry_id, f" {said}")
        case SubmitAmbiguous():
            lost = f" create answer lost ({event.reason}): checking the task list"
            return _line("! ", "yellow", event.entry_id, lost)
        case Reconciled():
            return _line("! ", "yellow", event.entry_id, f" settled: {event.verdict}")
        case Retry():
            wait = event.retry_after
            asked = f", waiting {wait:g} s as asked" if wait is not None else ""
            what = "throttled" if event.throttled else "retry"
            text = f"{event.operation} attempt {event.attempt}: {event.code} {event.message}"
            return _line("↻ ", "yellow", what, f" {text.rstrip()}{asked}")
        case Interrupted():
            return _line("■ ", "bold", "interrupted", f" ({event.signal}): stopping")
        case Fatal():
            return _line("■ ", "bold red", "fatal", f" {event.code or ''}: {event.message}")
    return None


def _line(mark: str, style: str, who: str, rest: str) -> Text:
    text = Text(mark, style=style)
    text.append(who, style="bold")
    text.append(rest)
    return text


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _shipped_prices() -> PriceTable | None:
    try:
        return PriceTable.load()
    except ValueError:
        return None  # a broken prices file must not stop the run: the panel shows seconds only
