"""How a run shows itself: the plain and JSON sinks, the tally behind the live panel, and the
live panel on a (recorded) terminal."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from kling_batch.api.types import TaskStatus
from kling_batch.cli.display import JsonLines, PlainLines, choose_sink, open_display
from kling_batch.cli.live import LiveDisplay, render
from kling_batch.cli.tally import Phase, RunTally
from kling_batch.manifest.model import STANDARD_MODEL, Entry, EntryKind, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.events import (
    Download,
    EntryDone,
    EntryFailed,
    EntrySkipped,
    Event,
    EventKind,
    Interrupted,
    Poll,
    Retry,
    RunFinished,
    RunStarted,
    Submit,
    Submitted,
)
from kling_batch.runner.records import EntryState

T0 = 1_000_000.0
SHOW_CURSOR = "\x1b[?25h"
HIDE_CURSOR = "\x1b[?25l"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def entry(entry_id: str, duration: int = 5, mode: str = "std", audio: bool = False) -> Entry:
    return Entry(
        id=entry_id,
        kind=EntryKind.SHOT,
        model=STANDARD_MODEL,
        prompt=f"prompt of {entry_id}",
        mode=mode,
        duration=duration,
        audio=audio,
    )


MANIFEST = Manifest(
    path=Path("campaign.yaml"),
    name="campaign",
    entries=(entry("a"), entry("b", duration=3), entry("c", mode="pro", audio=True), entry("d")),
)


def t(seconds: float) -> float:
    return T0 + seconds


# A run of four entries: a done before (skipped), b done, c failed, d still rendering.
RUN: tuple[Event, ...] = (
    RunStarted(manifest=Path("campaign.yaml"), entries=4, concurrency=10, service="sim",
               simulated=True, at=t(0)),
    EntrySkipped("a", state=EntryState.DONE, at=t(0)),
    Submit("b", model=STANDARD_MODEL, at=t(1)),
    Submitted("b", task_id="task-b", request_id="r1", at=t(1.2)),
    Submit("c", model=STANDARD_MODEL, at=t(2)),
    Retry(operation="create_task", attempt=1, code="Throttling.RateQuota",
          message="Requests rate limit exceeded", retry_after=1.5, at=t(2.1)),
    Submitted("c", task_id="task-c", at=t(3.5)),
    Submit("d", model=STANDARD_MODEL, at=t(4)),
    Submitted("d", task_id="task-d", at=t(4.1)),
    Poll("b", task_id="task-b", status=TaskStatus.RUNNING, at=t(5)),
    Poll("d", task_id="task-d", status=TaskStatus.PENDING, at=t(6)),
    Retry(operation="get_task", attempt=1, code="InternalError",
          message="boom [red]not markup[/red]", at=t(6.5)),
    Poll("b", task_id="task-b", status=TaskStatus.SUCCEEDED, at=t(8)),
    Download("b", file="video.mp4", size=10, sha256="0" * 64, at=t(9)),
    EntryDone("b", files=("video.mp4",), billed_seconds=3, at=t(10)),
    Poll("c", task_id="task-c", status=TaskStatus.FAILED, at=t(11)),
    EntryFailed("c", state=EntryState.FAILED, code="DataInspectionFailed",
                message="[bold]moderated[/bold]", request_id="req-c", at=t(11)),
)  # fmt: skip


def run_finished(at: float, done: int, failed: int) -> RunFinished:
    return RunFinished(done=done, failed=failed, unfinished=0, elapsed=at, at=t(at))


def tally_of(events: tuple[Event, ...], prices: PriceTable | None = None) -> RunTally:
    tally = RunTally.for_manifest(MANIFEST, prices or PriceTable.load())
    for event in events:
        tally.apply(event)
    return tally


# -- plain and JSON lines --------------------------------------------------------------------


def test_json_lines_are_the_event_log_schema() -> None:
    stream = io.StringIO()
    sink = JsonLines(stream)
    for event in RUN:
        sink.emit(event)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines == [event.as_json() for event in RUN]
    assert lines[3] == {
        "ts": T0 + 1.2,
        "event": "submitted",
        "entry": "b",
        "task_id": "task-b",
        "request_id": "r1",
    }


def test_plain_lines_one_per_notable_event_without_polls() -> None:
    stream = io.StringIO()
    sink = PlainLines(stream)
    for event in RUN:
        sink.emit(event)

    lines = stream.getvalue().splitlines()
    assert len(lines) == sum(1 for e in RUN if not isinstance(e, Poll))
    assert not any(" poll " in line for line in lines)
    failed = next(line for line in lines if " entry_failed c " in line)
    assert failed.endswith("request_id=req-c: [bold]moderated[/bold]")
    assert "\x1b[" not in stream.getvalue()


# -- the tally ---------------------------------------------------------------------------------


def test_tally_counts_each_entry_once_in_its_latest_phase() -> None:
    tally = tally_of(RUN)

    assert tally.counts() == {Phase.PENDING: 1, Phase.DONE: 1, Phase.FAILED: 1, Phase.SKIPPED: 1}
    assert tally.finished == 3
    assert tally.total == 4


def test_tally_lists_tasks_in_flight_with_their_age() -> None:
    tally = tally_of(RUN[:12])

    flights = tally.in_flight()
    assert [(f.entry_id, f.phase, f.task_id) for f in flights] == [
        ("b", Phase.RUNNING, "task-b"),
        ("c", Phase.PENDING, "task-c"),
        ("d", Phase.PENDING, "task-d"),
    ]
    assert flights[0].since == T0 + 1  # since its submit, not its latest poll


def test_tally_counts_queued_entries_from_the_run_size() -> None:
    tally = tally_of(RUN[:3])

    assert tally.counts() == {Phase.QUEUED: 2, Phase.SUBMITTING: 1, Phase.SKIPPED: 1}


def test_billed_seconds_and_cost_from_the_event_when_it_says() -> None:
    tally = tally_of(RUN)

    assert tally.billed_seconds == 3
    assert tally.cost == Decimal("1.8")  # std, silent: 0.6 per second
    assert tally.billed_estimated is False


def test_billed_seconds_estimated_from_the_manifest_when_the_event_is_silent() -> None:
    tally = tally_of(
        (
            RUN[0],
            EntryDone("c", files=("video.mp4",), at=t(5)),
        )
    )

    assert tally.billed_seconds == 5
    assert tally.cost == Decimal("6.0")  # pro with audio: 1.2 per second
    assert tally.billed_estimated is True


def test_retries_and_throttling_are_counted() -> None:
    tally = tally_of(RUN)

    assert (tally.retries, tally.throttled) == (2, 1)


def test_eta_from_the_renders_this_run_saw_finish() -> None:
    tally = tally_of(RUN)

    # b took 9 s from its submit to done; d, submitted at 4 s, has 2 s of that left at 11 s.
    # The skip (a) and the failure (c) teach nothing about how long a render takes.
    assert tally.typical_render() == pytest.approx(9)
    assert tally.eta(T0 + 11) == pytest.approx(2)
    assert tally_of(RUN[:5]).eta(T0 + 2) is None  # no render finished yet: no guess


def test_eta_follows_the_latest_renders_and_fills_the_slots() -> None:
    entries = tuple(entry(f"e{n}") for n in range(30))
    tally = RunTally.for_manifest(Manifest(Path("m.yaml"), "m", entries), PriceTable.load())
    tally.apply(RunStarted(manifest=Path("m.yaml"), entries=30, concurrency=2, service="sim",
                           simulated=True, at=t(0)))  # fmt: skip
    clock = 0.0
    for n, seconds in enumerate([100.0] + [10.0] * 9):  # one slow render first, then quick ones
        tally.apply(Submit(f"e{n}", model=STANDARD_MODEL, at=t(clock)))
        clock += seconds
        tally.apply(EntryDone(f"e{n}", files=("video.mp4",), billed_seconds=5, at=t(clock)))
    assert tally.typical_render() == pytest.approx(10)  # the median, not the first render

    # 20 left, none at work, 2 slots: 10 waves of 10 s.
    assert tally.eta(t(clock)) == pytest.approx(100)
    # A render resumed midway (first seen polling) is not timed: it did not start here.
    tally.apply(Poll("e10", task_id="t", status=TaskStatus.RUNNING, at=t(clock)))
    tally.apply(EntryDone("e10", files=("video.mp4",), billed_seconds=5, at=t(clock + 1)))
    assert len(tally.render_times) == 10


def test_elapsed_stops_when_the_run_finishes() -> None:
    tally = tally_of((*RUN, run_finished(12, done=2, failed=1)))

    assert tally.elapsed(T0 + 100) == 12


# -- the live panel ----------------------------------------------------------------------------


def terminal(width: int = 100) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=width, color_system="standard")
    return console, stream


def frame(tally: RunTally, now: float) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(render(tally, now))
    return console.export_text()


def test_frame_shows_progress_counts_money_retries_and_flights() -> None:
    text = frame(tally_of(RUN[:12]), T0 + 7)

    assert "0/4 entries" not in text
    assert "1/4 entries · 25% · elapsed 0:07 · ETA ?" in text  # only a skip so far
    assert "running 1" in text and "pending 2" in text and "skipped 1" in text
    assert "billed 0 s · CNY 0.00 so far · retries 2 (throttled 1)" in text
    rows = [line.split() for line in text.splitlines() if line.startswith(("b ", "c ", "d "))]
    assert rows == [
        ["b", "running", "0:06", "task-b"],
        ["c", "pending", "0:05", "task-c"],
        ["d", "pending", "0:03", "task-d"],
    ]


def test_frame_after_the_run_has_no_eta_and_no_flights() -> None:
    finished = (
        *RUN,
        Poll("d", task_id="task-d", status=TaskStatus.SUCCEEDED, at=t(12)),
        EntryDone("d", files=("video.mp4",), billed_seconds=5, at=t(13)),
        run_finished(13, done=3, failed=1),
    )
    text = frame(tally_of(finished), T0 + 60)

    assert "4/4 entries · 100% · elapsed 0:13" in text
    assert "ETA" not in text
    assert "in flight" not in text
    assert "billed 8 s · CNY 4.80 so far" in text


def test_frame_says_why_a_run_is_stopping() -> None:
    text = frame(tally_of((*RUN[:5], Interrupted(signal="SIGINT", at=t(6)))), T0 + 6)

    assert "interrupted (SIGINT): finishing what was sent; state is saved" in text


def test_live_display_prints_notices_above_and_stops_on_run_finished() -> None:
    console, stream = terminal()
    display = LiveDisplay(MANIFEST, console=console, clock=lambda: T0 + 12, refresh_per_second=50)

    for event in RUN:
        display.emit(event)
    assert display.active
    display.emit(run_finished(12, done=2, failed=1))

    assert not display.active
    output = stream.getvalue()
    assert output.count(HIDE_CURSOR) == 1
    assert output.rstrip("\n").endswith(SHOW_CURSOR)  # the terminal is given back, last
    text = ANSI.sub("", output)
    assert "✓ b done" in text
    assert "✗ c failed: DataInspectionFailed: [bold]moderated[/bold] (request req-c)" in text
    # ^ user text printed as itself, never read as rich markup
    assert "↻ throttled create_task attempt 1: Throttling.RateQuota Requests rate limit " in text
    assert "waiting 1.5 s as asked" in text
    assert "↻ retry get_task attempt 1: InternalError boom [red]not markup[/red]" in text
    assert "3/4 entries · 75%" in text  # the last frame stays on screen


def test_events_after_close_print_plainly_without_restarting_the_panel() -> None:
    console, stream = terminal()
    display = LiveDisplay(MANIFEST, console=console, clock=lambda: T0)
    display.emit(RUN[0])
    display.close()
    display.close()  # idempotent

    display.emit(RUN[2])
    display.emit(EntryFailed("b", code="X", message="late", at=t(3)))

    assert not display.active
    assert stream.getvalue().count(HIDE_CURSOR) == 1
    assert ANSI.sub("", stream.getvalue()).rstrip("\n").endswith("✗ b failed: X: late")


def test_open_display_gives_the_terminal_back_when_the_run_raises() -> None:
    stream = _TtyStream()

    with pytest.raises(KeyboardInterrupt), open_display(as_json=False, stderr=stream) as sink:
        assert isinstance(sink, LiveDisplay)
        sink.emit(RUN[0])
        sink.emit(RUN[2])
        raise KeyboardInterrupt

    assert not sink.active
    assert stream.getvalue().rstrip("\n").endswith(SHOW_CURSOR)


# -- choosing a sink ---------------------------------------------------------------------------


class _TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # rich honours these; the test decides what is a terminal by the stream alone.
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    yield


def test_json_flag_picks_json_lines_on_stdout(terminal_env: None) -> None:
    stdout = io.StringIO()
    sink = choose_sink(as_json=True, stdout=stdout, stderr=_TtyStream())
    sink.emit(RUN[0])

    assert isinstance(sink, JsonLines)
    assert json.loads(stdout.getvalue())["event"] == "run_started"


def test_a_terminal_gets_the_live_panel(terminal_env: None) -> None:
    sink = choose_sink(as_json=False, manifest=MANIFEST, stderr=_TtyStream())

    assert isinstance(sink, LiveDisplay)
    sink.close()


def test_a_pipe_gets_plain_lines(terminal_env: None) -> None:
    assert isinstance(choose_sink(as_json=False, stderr=io.StringIO()), PlainLines)


def test_a_dumb_terminal_gets_plain_lines(
    terminal_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "dumb")

    assert isinstance(choose_sink(as_json=False, stderr=_TtyStream()), PlainLines)


def test_every_event_kind_is_documented() -> None:
    """docs/events.md is the schema of `--json`; a new kind must not go unexplained."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    kinds = doc.split("## Kinds", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", kinds, flags=re.MULTILINE))

    assert documented == {str(kind) for kind in EventKind}
