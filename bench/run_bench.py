"""Benchmarks of the runner: makespan, polling, CPU and disk work per entry, on the simulator.

    .venv/bin/python bench/run_bench.py makespan [--entries 60] [--runs 5] [--speed 30]
    .venv/bin/python bench/run_bench.py polling  [--entries 60] [--runs 5] [--speed 30]
    .venv/bin/python bench/run_bench.py renders  (both of the above from the same runs)
    .venv/bin/python bench/run_bench.py cpu      [--entries 1000] [--runs 5] [--profile]
                                                 [--scratch DIR]
    .venv/bin/python bench/run_bench.py io       [--entries 300] [--runs 3] [--strace]

`makespan` and `polling` run a manifest against the in-process simulator with renders of
`--render-seconds` (simulated; jitter `--jitter`) played `--speed` times faster than real. Every
rate is scaled by the same factor (the simulator's limits, the client's pacing, the runner's
poll floor), so a run is the real service's timeline, compressed. Figures are in simulated
seconds. `cpu` serves a zero-latency simulator from a separate process and counts only the
runner's CPU, beside what the same exchanges cost through bare httpx. `io` counts the state
store's statements and the fsyncs of a plain render (bench/store_io.py). Each prints medians
over `--runs` runs, the goal, and exits 1 if a goal is missed. See bench/README.md for what each
figure means.
"""

from __future__ import annotations

import argparse
import cProfile
import heapq
import importlib.util
import math
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx
from store_io import IoTrace, count_calls, traced_io

import kling_batch.batch
from kling_batch.api import ApiKey, Pacing
from kling_batch.api.client import DEFAULT_LIMITS
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.runner.artifacts import OutputLayout, read_json_lines
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunOptions, RunSummary
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

# DashScope writes task times as Beijing wall-clock text without a zone.
BEIJING = timezone(timedelta(hours=8))
# The account's figures (dashscope-kling-api.md, "Limits"): what the ideal schedule obeys too.
SLOTS = 10
SUBMITS_PER_SECOND = 5.0
QUERIES_PER_SECOND = 20.0
# The reference's suggested loop: "the documentation suggests polling about every 15 s".
FIXED_LOOP_SECONDS = 15.0
# Renders before the runner has seen one of their kind finish (its policy's cold start).
COLD_START = 10

GOAL_MAKESPAN_RATIO = 1.05
# The runner's CPU per entry, at most this many times what its HTTP exchanges cost through bare
# httpx (the floor, measured in the same run).
GOAL_CPU_OVER_FLOOR = 2.0
_FLOOR_EXCHANGES = 3
GOAL_STATEMENTS_PER_ENTRY = 8.0
GOAL_FSYNCS_PER_ENTRY = 2.0

SIMULATED_BASE_URL = "http://localhost/api/v1"
CREATE_PATH = "/services/aigc/video-generation/video-synthesis"
# The simulator takes any non-empty key; this one is not a secret and reaches no service.
BENCH_KEY = ApiKey("bench-simulator-key")
# Rates high enough that neither side ever waits or answers 429: the CPU run measures work only.
UNPACED = 1e6


# -- manifests and runs ----------------------------------------------------------------------


def write_manifest(folder: Path, entries: int, name: str) -> Manifest:
    """A text-to-video manifest of `entries` shots, all of one kind (std, 5 s, 16:9)."""
    shots = "".join(
        f"  - id: s-{i:04d}\n    prompt: a paper boat drifts down a rainy street, take {i}\n"
        for i in range(entries)
    )
    text = (
        f"version: 1\nname: {name}\n"
        'defaults: {mode: std, duration: 5, aspect_ratio: "16:9"}\n'
        f"shots:\n{shots}"
    )
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def run(
    manifest: Manifest, connection: Connection, output: Path, options: RunOptions
) -> RunSummary:
    summary = anyio.run(run_manifest, manifest, connection, output, options)
    if not summary.all_done or summary.fatal:
        raise SystemExit(f"bench: the run did not finish every entry: {summary}")
    return summary


# -- render runs: makespan and polling ---------------------------------------------------------


@dataclass(frozen=True)
class RenderScenario:
    entries: int
    render_seconds: float
    jitter: float
    speed: float
    poll_interval: float  # simulated seconds


@dataclass(frozen=True)
class TaskTiming:
    """One entry's task, in simulated seconds since the run started."""

    submitted: float  # the service's submit_time
    scheduled: float  # when it took a slot
    ended: float  # the service's end_time
    noticed: float  # the runner's first poll that saw it SUCCEEDED
    polls: int

    @property
    def render(self) -> float:
        return self.ended - self.scheduled

    @property
    def lag(self) -> float:
        return self.noticed - self.ended


@dataclass(frozen=True)
class RenderRun:
    tasks: tuple[TaskTiming, ...]  # in manifest order
    finished: float  # run_manifest returned (downloads and results included)

    @property
    def last_noticed(self) -> float:
        return max(t.noticed for t in self.tasks)


@dataclass(frozen=True)
class _Timeline:
    """Real and simulated clocks read at the same instant, to put both on one axis."""

    real: float
    simulated: float
    speed: float

    def from_real(self, epoch: float) -> float:
        return (epoch - self.real) * self.speed

    def from_service(self, text: str) -> float:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=BEIJING)
        return moment.timestamp() - self.simulated


def render_run(scenario: RenderScenario, seed: int, folder: Path) -> RenderRun:
    speed = scenario.speed
    simulator = Simulator(
        SimulatorConfig(
            render_seconds=scenario.render_seconds,
            render_jitter=scenario.jitter,
            speed=speed,
            slots=SLOTS,
            submit_rate=SUBMITS_PER_SECOND * speed,
            query_rate=QUERIES_PER_SECOND * speed,
            seed=seed,
        )
    )
    connection = Connection(
        SIMULATED_BASE_URL,
        BENCH_KEY,
        transport=simulator_transport(simulator),
        pacing=Pacing(SUBMITS_PER_SECOND * speed, QUERIES_PER_SECOND * speed),
    )
    options = RunOptions(
        concurrency=SLOTS, poll_interval=scenario.poll_interval / speed, handle_signals=False
    )
    manifest = write_manifest(folder, scenario.entries, f"renders-{seed}")
    output = folder / "out"
    timeline = _Timeline(time.time(), simulator.now(), speed)
    run(manifest, connection, output, options)
    finished = timeline.from_real(time.time())
    throttled = simulator.stats().throttled
    if throttled:
        print(f"  note: the simulator answered {throttled} requests with 429", file=sys.stderr)
    layout = OutputLayout.for_manifest(output, manifest.name)
    tasks = tuple(_task_timing(layout, entry.id, timeline) for entry in manifest.entries)
    return RenderRun(tasks, finished)


def _task_timing(layout: OutputLayout, entry_id: str, timeline: _Timeline) -> TaskTiming:
    polls = read_json_lines(layout.polls_file(entry_id))
    output: dict[str, Any] = polls[-1]["output"]
    noticed = next(p["ts"] for p in polls if p["output"]["task_status"] == "SUCCEEDED")
    return TaskTiming(
        submitted=timeline.from_service(output["submit_time"]),
        scheduled=timeline.from_service(output["scheduled_time"]),
        ended=timeline.from_service(output["end_time"]),
        noticed=timeline.from_real(noticed),
        polls=len(polls),
    )


def list_schedule(
    renders: Sequence[float],
    *,
    slots: int = SLOTS,
    submit_gap: float = 1 / SUBMITS_PER_SECOND,
    busy: Callable[[float], float] = lambda render: render,
) -> float:
    """Makespan of submitting in order, each as soon as a slot is free and the submit pace
    allows; a slot stays busy `busy(render)` after its task starts (the render itself, ideally)."""
    free_at = [0.0] * slots
    makespan = 0.0
    for index, render in enumerate(renders):
        start = max(index * submit_gap, heapq.heappop(free_at))
        done = start + busy(render)
        heapq.heappush(free_at, done)
        makespan = max(makespan, done)
    return makespan


def fixed_loop_detection(seconds: float) -> float:
    """When a loop polling every 15 s from submission first sees a task that took `seconds`."""
    return FIXED_LOOP_SECONDS * max(1, math.ceil(seconds / FIXED_LOOP_SECONDS))


@dataclass(frozen=True)
class Makespan:
    ideal: float
    runner_noticed: float
    runner_finished: float
    parallel_fixed_loop: float  # 10 slots, but each polled every 15 s
    one_at_a_time: float
    lower_bound: float


def makespan_of(render: RenderRun) -> Makespan:
    renders = [t.render for t in render.tasks]
    return Makespan(
        ideal=list_schedule(renders),
        runner_noticed=render.last_noticed,
        runner_finished=render.finished,
        parallel_fixed_loop=list_schedule(renders, busy=fixed_loop_detection),
        one_at_a_time=sum(fixed_loop_detection(r) for r in renders),
        lower_bound=max(sum(renders) / SLOTS, max(renders)),
    )


@dataclass(frozen=True)
class PollingFigures:
    tasks: int
    polls_median: float
    polls_mean: float
    lag_median: float
    lag_p90: float
    lag_max: float
    fixed_polls_median: float
    fixed_polls_mean: float
    fixed_lag_median: float
    fixed_lag_p90: float


def polling_of(tasks: Sequence[TaskTiming]) -> PollingFigures:
    """The runner's polls and lag, and a fixed 15 s loop's on the same submit-to-end times."""
    waits = [t.ended - t.submitted for t in tasks]
    fixed_polls = [fixed_loop_detection(w) / FIXED_LOOP_SECONDS for w in waits]
    fixed_lags = [fixed_loop_detection(w) - w for w in waits]
    lags = [t.lag for t in tasks]
    polls = [float(t.polls) for t in tasks]
    return PollingFigures(
        tasks=len(tasks),
        polls_median=statistics.median(polls),
        polls_mean=statistics.fmean(polls),
        lag_median=statistics.median(lags),
        lag_p90=_quantile(lags, 0.9),
        lag_max=max(lags),
        fixed_polls_median=statistics.median(fixed_polls),
        fixed_polls_mean=statistics.fmean(fixed_polls),
        fixed_lag_median=statistics.median(fixed_lags),
        fixed_lag_p90=_quantile(fixed_lags, 0.9),
    )


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _median_of(items: Sequence[Any], attribute: str) -> float:
    return statistics.median(float(getattr(item, attribute)) for item in items)


_MAKESPAN_ROWS = (
    ("ideal list schedule (10 slots, 5 submits/s)", "ideal"),
    ("  lower bound max(sum/10, longest)", "lower_bound"),
    ("runner, last render noticed", "runner_noticed"),
    ("runner, run finished (downloads, results)", "runner_finished"),
    ("10 slots, fixed 15 s polling (computed)", "parallel_fixed_loop"),
    ("one at a time, 15 s polling (computed)", "one_at_a_time"),
)


def report_makespan(runs: Sequence[RenderRun]) -> bool:
    spans = [makespan_of(r) for r in runs]
    print("makespan, simulated seconds (median of runs; each run's own render times):")
    for label, attribute in _MAKESPAN_ROWS:
        print(f"  {label:46}{_median_of(spans, attribute):8.1f}")
    noticed = [s.runner_noticed / s.ideal for s in spans]
    finished = [s.runner_finished / s.ideal for s in spans]
    over_fixed = [s.parallel_fixed_loop / s.runner_finished for s in spans]
    baseline = [s.one_at_a_time / s.runner_finished for s in spans]
    print("ratios (median; per run in brackets):")
    print(f"  runner (noticed) / ideal        {_ratio(noticed)}")
    print(f"  runner (finished) / ideal       {_ratio(finished)}   goal <= {GOAL_MAKESPAN_RATIO}")
    print(f"  10 slots, fixed 15 s / runner   {_ratio(over_fixed)}")
    print(f"  one at a time / runner          {_ratio(baseline)}")
    met = statistics.median(finished) <= GOAL_MAKESPAN_RATIO
    print(f"  goal {'met' if met else 'MISSED'}")
    return met


def report_polling(runs: Sequence[RenderRun], poll_interval: float) -> bool:
    print(f"polls per task and detection lag (simulated s; poll floor {poll_interval:g} s):")
    print(
        "                         runner: polls median/mean  lag median/p90/max"
        "   fixed 15 s: polls median/mean  lag median/p90"
    )
    steady_lags: list[float] = []
    steady_polls: list[float] = []
    steady_fixed: list[float] = []
    for label, pick in (
        ("all tasks", lambda tasks: tasks),
        (f"after the first {COLD_START}", lambda tasks: _after_cold_start(tasks)),
        (f"first {COLD_START} (cold)", lambda tasks: _cold_start(tasks)),
    ):
        figures = [polling_of(pick(r.tasks)) for r in runs]
        if label.startswith("after"):
            steady_lags = [f.lag_median for f in figures]
            steady_polls = [f.polls_mean for f in figures]
            steady_fixed = [f.fixed_polls_mean for f in figures]
        print(
            f"  {label:22} "
            f"{_median_of(figures, 'polls_median'):9.1f} / {_median_of(figures, 'polls_mean'):4.2f}"
            f"     {_median_of(figures, 'lag_median'):5.2f} / {_median_of(figures, 'lag_p90'):5.2f}"
            f" / {_median_of(figures, 'lag_max'):5.2f}"
            f"   {_median_of(figures, 'fixed_polls_median'):16.1f} /"
            f" {_median_of(figures, 'fixed_polls_mean'):4.2f}"
            f"    {_median_of(figures, 'fixed_lag_median'):5.2f} /"
            f" {_median_of(figures, 'fixed_lag_p90'):5.2f}"
        )
    lag = statistics.median(steady_lags)
    polls = statistics.median(steady_polls)
    fixed = statistics.median(steady_fixed)
    met = lag <= poll_interval and polls < fixed
    print(
        f"  goal (after the first {COLD_START}): median lag {lag:.2f} <= {poll_interval:g} s and "
        f"polls/task {polls:.2f} < fixed loop's {fixed:.2f}: {'met' if met else 'MISSED'}"
    )
    return met


def _cold_start(tasks: Sequence[TaskTiming]) -> list[TaskTiming]:
    return sorted(tasks, key=lambda t: t.submitted)[:COLD_START]


def _after_cold_start(tasks: Sequence[TaskTiming]) -> list[TaskTiming]:
    return sorted(tasks, key=lambda t: t.submitted)[COLD_START:]


def _ratio(values: Sequence[float]) -> str:
    return f"{statistics.median(values):5.3f}  [{', '.join(f'{v:.3f}' for v in values)}]"


def render_runs(options: argparse.Namespace) -> list[RenderRun]:
    scenario = RenderScenario(
        entries=options.entries,
        render_seconds=options.render_seconds,
        jitter=options.jitter,
        speed=options.speed,
        poll_interval=options.poll_interval,
    )
    real = scenario.render_seconds * scenario.entries / SLOTS / scenario.speed
    print(
        f"{scenario.entries} entries, renders {scenario.render_seconds:g} s +/- "
        f"{scenario.jitter:.0%} (simulated) at {scenario.speed:g}x, poll floor "
        f"{scenario.poll_interval:g} s; {options.runs} runs of about {real:.0f} s each"
    )
    runs = []
    for seed in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="kling-bench-") as scratch:
            runs.append(render_run(scenario, seed, Path(scratch)))
    return runs


# -- CPU per entry ---------------------------------------------------------------------------


@contextmanager
def simulator_process(render_seconds: float) -> Iterator[str]:
    """A `kling-batch simulator` in its own process (its CPU is not ours), without rate limits;
    yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "kling_batch",
        "simulator",
        "--port",
        "0",
        "--render-seconds",
        f"{render_seconds:g}",
        "--render-jitter",
        "0",
        "--submit-rate",
        "0",
        "--query-rate",
        "0",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://"):
            raise SystemExit("bench: the simulator did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class CpuRun:
    entries: int
    user_seconds: float  # the runner's process, every thread
    system_seconds: float
    wall_seconds: float
    polls: int
    poster_seconds: float  # the process that made the run's posters (report/poster_process.py)
    outputs_seconds: float = 0.0  # of the runner's: results.jsonl and report.html at the end

    @property
    def ms_per_entry(self) -> float:
        """Everything a run cost, posters included."""
        return self.runner_ms_per_entry + self.poster_ms_per_entry

    @property
    def poster_ms_per_entry(self) -> float:
        return 1000 * self.poster_seconds / self.entries

    @property
    def runner_ms_per_entry(self) -> float:
        """The run without its posters: what the goal against bare HTTP is about."""
        return 1000 * (self.user_seconds + self.system_seconds) / self.entries

    @property
    def outputs_ms_per_entry(self) -> float:
        return 1000 * self.outputs_seconds / self.entries


@contextmanager
def outputs_timed() -> Iterator[list[float]]:
    """CPU seconds spent writing results.jsonl and report.html at the end of the runs inside
    (the one number in the list), timed around the functions kling_batch.batch calls."""
    spent = [0.0]
    originals = (kling_batch.batch.write_results, kling_batch.batch.write_report)

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started

        return call

    kling_batch.batch.write_results = timed(originals[0])  # type: ignore[assignment]
    kling_batch.batch.write_report = timed(originals[1])  # type: ignore[assignment]
    try:
        yield spent
    finally:
        kling_batch.batch.write_results, kling_batch.batch.write_report = originals


def _cpu_now() -> tuple[float, float, float]:
    """(user, system) CPU seconds of this process, every thread included (the runner hashes
    videos on worker threads), and the CPU seconds of its children that have ended (the run's
    poster process, once the run has waited for it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime, own.ru_stime, children.ru_utime + children.ru_stime


@contextmanager
def scratch_folder(kept: Path | None = None) -> Iterator[Path]:
    """A folder for every run of a bench: `kept` (left in place, for benches run one after
    another, whose cleanups would tax each other: see `report_cpu`), else a temporary one
    removed once they are all measured."""
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="kling-bench-", dir=kept))
        return
    with tempfile.TemporaryDirectory(prefix="kling-bench-") as scratch:
        yield Path(scratch)


def cpu_run(
    base_url: str, entries: int, folder: Path, profile: cProfile.Profile | None = None
) -> CpuRun:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(folder, entries, "cpu")
    connection = Connection(base_url, BENCH_KEY, pacing=Pacing(UNPACED, UNPACED))
    # The smallest floor the CLI allows: a zero-length render is then polled once.
    options = RunOptions(concurrency=SLOTS, poll_interval=0.05, handle_signals=False)
    output = folder / "out"
    # The last run's blocks written back first: ext4 (without a journal, as on this machine)
    # skips over inodes deleted in the last 5 s when it allocates one, and in the last 300 s
    # while their block is dirty, so a run just after a cleanup paid for it (see report_cpu).
    os.sync()
    wall = time.perf_counter()
    user, system, children = _cpu_now()
    if profile is not None:
        profile.enable()
    with outputs_timed() as outputs:
        run(manifest, connection, output, options)
    if profile is not None:
        profile.disable()
    user_after, system_after, children_after = _cpu_now()
    wall = time.perf_counter() - wall
    layout = OutputLayout.for_manifest(output, manifest.name)
    polls = sum(len(read_json_lines(layout.polls_file(e.id))) for e in manifest.entries)
    return CpuRun(
        entries,
        user_after - user,
        system_after - system,
        wall,
        polls,
        children_after - children,
        outputs[0],
    )


async def _bare_queries(base_url: str, requests: int) -> float:
    """CPU seconds of `requests` task queries through httpx alone (the client's pool limits,
    10 at a time), the cost of one HTTP exchange with nothing of ours around it."""
    headers = {"Authorization": f"Bearer {BENCH_KEY.reveal()}", "X-DashScope-Async": "enable"}
    body = {
        "model": "kling/kling-v3-video-generation",
        "input": {"prompt": "bench: one task to query"},
        "parameters": {"mode": "std", "duration": 5, "aspect_ratio": "16:9"},
    }
    async with httpx.AsyncClient(limits=DEFAULT_LIMITS) as http:
        created = await http.post(f"{base_url}{CREATE_PATH}", json=body, headers=headers)
        task_url = f"{base_url}/tasks/{created.json()['output']['task_id']}"
        slots = anyio.CapacityLimiter(SLOTS)

        async def query() -> None:
            async with slots:
                (await http.get(task_url, headers=headers)).raise_for_status()

        started = time.process_time()
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(query)
        return time.process_time() - started


async def _bare_entries(base_url: str, entries: int) -> tuple[float, float]:
    """(CPU seconds, queries) of what `entries` entries ask of the service, through httpx
    alone (the client's pool limits, 10 entries at a time): each one create, its task queried
    until it has succeeded, and its video streamed and dropped -- the exchanges an entry makes,
    with nothing of ours around them."""
    headers = {"Authorization": f"Bearer {BENCH_KEY.reveal()}", "X-DashScope-Async": "enable"}
    queries = 0
    async with httpx.AsyncClient(limits=DEFAULT_LIMITS) as http:
        slots = anyio.CapacityLimiter(SLOTS)

        async def entry(number: int) -> None:
            nonlocal queries
            body = {
                "model": "kling/kling-v3-video-generation",
                "input": {"prompt": f"bench: a bare entry, take {number}"},
                "parameters": {"mode": "std", "duration": 5, "aspect_ratio": "16:9"},
            }
            async with slots:
                created = await http.post(f"{base_url}{CREATE_PATH}", json=body, headers=headers)
                task_url = f"{base_url}/tasks/{created.json()['output']['task_id']}"
                while True:
                    queries += 1
                    output = (await http.get(task_url, headers=headers)).json()["output"]
                    if output["task_status"] == "SUCCEEDED":
                        break
                    await anyio.sleep(0.05)  # the runner's poll floor in this bench
                async with http.stream("GET", output["video_url"]) as response:
                    response.raise_for_status()
                    async for _ in response.aiter_raw():
                        pass

        started = time.process_time()
        async with anyio.create_task_group() as group:
            for number in range(entries):
                group.start_soon(entry, number)
        return time.process_time() - started, queries


def bare_entry_ms(base_url: str, entries: int = 300) -> tuple[float, float]:
    """(ms of CPU per entry, queries per entry) of `_bare_entries`, the median of 3."""
    anyio.run(_bare_entries, base_url, 20)  # warm the pool
    found = [anyio.run(_bare_entries, base_url, entries) for _ in range(3)]
    return (
        statistics.median(1000 * cpu / entries for cpu, _ in found),
        statistics.median(queries / entries for _, queries in found),
    )


def bare_http_ms(base_url: str, requests: int = 600) -> float:
    anyio.run(_bare_queries, base_url, 50)  # warm the pool
    return statistics.median(
        1000 * anyio.run(_bare_queries, base_url, requests) / requests for _ in range(3)
    )


@dataclass(frozen=True)
class Floor:
    """What an entry's exchanges cost through bare httpx, measured right after a run."""

    entry_ms: float  # one create, its queries, its video streamed (`_bare_entries`)
    queries_per_entry: float
    three_queries_ms: float  # three task queries (the floor until 2026-12-02)

    def around(self, after: Floor) -> Floor:
        """The floor of a run measured just before it (self) and just after: their geometric
        mean. This machine's speed drifts by tens of percent within a minute, so one side
        alone made a run's ratio swing with the drift."""
        return Floor(
            math.sqrt(self.entry_ms * after.entry_ms),
            (self.queries_per_entry + after.queries_per_entry) / 2,
            math.sqrt(self.three_queries_ms * after.three_queries_ms),
        )


def measure_floor(base_url: str) -> Floor:
    entry_ms, queries = bare_entry_ms(base_url)
    return Floor(entry_ms, queries, _FLOOR_EXCHANGES * bare_http_ms(base_url))


def report_cpu(options: argparse.Namespace) -> bool:
    print(
        f"{options.entries} entries against a zero-latency simulator in another process, "
        f"{options.runs} runs (and one warm-up), each between two measures of the bare-httpx "
        "floors"
    )
    runs: list[tuple[CpuRun, Floor]] = []  # each run with the floors measured around it
    # Every run's output is kept until the end: for seconds (minutes, while their blocks are
    # dirty) after thousands of files are removed, ext4 without a journal makes each new inode
    # skip over the recently deleted ones (`recently_deleted` in fs/ext4/ialloc.c), and a run
    # started just after the last one's cleanup paid up to ten times the CPU per file.
    with simulator_process(0.0) as base_url, scratch_folder(options.scratch) as scratch:
        for index in range(options.runs + 1):
            before = measure_floor(base_url) if index else None
            result = cpu_run(base_url, options.entries, scratch / f"run-{index}")
            if before is not None:  # the first run pays for imports and cold caches
                runs.append((result, before.around(measure_floor(base_url))))
        profile = cProfile.Profile(time.process_time) if options.profile else None
        if profile is not None:
            cpu_run(base_url, options.entries, scratch / "profiled", profile)
    for result, floor in runs:
        print(
            f"  run: {result.user_seconds:5.2f} s user + {result.system_seconds:5.2f} s system, "
            f"{result.wall_seconds:5.2f} s wall, {result.polls / result.entries:.2f} polls/entry: "
            f"{result.ms_per_entry:5.2f} ms/entry, of which posters "
            f"{result.poster_ms_per_entry:4.2f}, the end-of-run report "
            f"{result.outputs_ms_per_entry:4.2f}; floor {floor.entry_ms:5.2f} ms "
            f"({floor.queries_per_entry:.2f} queries/entry): "
            f"{result.runner_ms_per_entry / floor.entry_ms:.2f} x without posters; "
            f"3 queries {floor.three_queries_ms:5.2f} ms: "
            f"{result.runner_ms_per_entry / floor.three_queries_ms:.2f} x"
        )
    per_entry = statistics.median(r.ms_per_entry for r, _ in runs)
    posters = statistics.median(r.poster_ms_per_entry for r, _ in runs)
    user = statistics.median(1000 * r.user_seconds / r.entries for r, _ in runs)
    system = statistics.median(1000 * r.system_seconds / r.entries for r, _ in runs)
    entry_floor = statistics.median(f.entry_ms for _, f in runs)
    three_queries = statistics.median(f.three_queries_ms for _, f in runs)
    ratio = statistics.median(r.runner_ms_per_entry / f.entry_ms for r, f in runs)
    whole = statistics.median(r.ms_per_entry / f.entry_ms for r, f in runs)
    by_queries = statistics.median(r.runner_ms_per_entry / f.three_queries_ms for r, f in runs)
    met = ratio <= GOAL_CPU_OVER_FLOOR
    outputs = statistics.median(r.outputs_ms_per_entry for r, _ in runs)
    bare_runner = statistics.median(
        (r.runner_ms_per_entry - r.outputs_ms_per_entry) / f.entry_ms for r, f in runs
    )
    print(
        f"  CPU per entry: median {per_entry:.2f} ms ({user:.2f} user + {system:.2f} system); "
        f"the floor, an entry's own exchanges through bare httpx (create, query, video "
        f"download): {entry_floor:.2f} ms; three task queries: {three_queries:.2f} ms"
    )
    print(f"  of which poster frames (their own process, PyAV): median {posters:.2f} ms")
    print(
        f"  of the runner's, results.jsonl and report.html at the end: median {outputs:.2f} ms; "
        f"the runner without them: {bare_runner:.2f} x the floor (for reference)"
    )
    print(
        f"  runner / floor, posters apart: median {ratio:.2f} x (goal <= "
        f"{GOAL_CPU_OVER_FLOOR:g} x): {'met' if met else 'MISSED'}; with them {whole:.2f} x; "
        f"against three task queries {by_queries:.2f} x"
    )
    if importlib.util.find_spec("sniffio") is None:
        # httpcore 1.0.x imports sniffio inside every lock setup; a missing module is searched
        # for again on each call (Python caches only successful imports). encode/httpcore#1103.
        print(
            "  note: sniffio is not installed, so httpcore retries `import sniffio` on every "
            "request (a sys.path scan each time); installing it saves ~0.6 ms per request"
        )
    if profile is not None:
        report_profile(pstats.Stats(profile), options.entries)
    return met


# Where a function's own time is charged, by the first matching fragment of its file's path.
_AREAS = (
    ("kling_batch/runner/state", "runner: state store (sqlite)"),
    ("kling_batch/runner/", "runner: other"),
    ("kling_batch/api/", "kling_batch.api (client)"),
    ("kling_batch/manifest/", "kling_batch.manifest (request bodies)"),
    ("kling_batch/", "kling_batch: other"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpcore"),
    ("/h11/", "h11"),
    ("/anyio/", "anyio"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json"),
    ("/stamina/", "stamina"),
    ("/tenacity/", "stamina"),
    ("/sqlite3/", "sqlite3"),
    ("importlib", "importlib: imports at run time"),
)


def _area(filename: str, function: str) -> str:
    path = filename.replace(os.sep, "/")
    for fragment, area in _AREAS:
        if fragment in path:
            return area
    if filename == "~":  # C functions: name them by what they are
        if "sqlite3" in function:
            return "sqlite3 (C)"
        if any(word in function for word in ("fsync", "open", "write", "read", "replace", "stat")):
            return "file system calls"
        if any(word in function for word in ("select", "epoll", "poll", "send", "recv", "sock")):
            return "sockets and the event loop's selector"
        return "other built-ins"
    return "standard library, other"


def report_profile(stats: pstats.Stats, entries: int) -> None:
    """Own time by area and the top functions, per entry (cProfile inflates the totals)."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in raw.values())
    by_area: dict[str, float] = defaultdict(float)
    for (filename, _, function), (_, _, own, _, _) in raw.items():
        by_area[_area(filename, function)] += own
    print(f"  profile (cProfile, {1000 * total / entries:.2f} ms/entry under the profiler):")
    for area, own in sorted(by_area.items(), key=lambda item: -item[1]):
        if own / total >= 0.01:
            print(f"    {own / total:6.1%}  {area}")
    print("  top functions by own time:")
    top = sorted(raw.items(), key=lambda item: -item[1][2])[:15]
    for (filename, line, function), (_, calls, own, _, _) in top:
        where = "built-in" if filename == "~" else f"{_short(filename)}:{line}"
        print(f"    {own / total:6.1%}  {calls / entries:6.1f} calls/entry  {function}  ({where})")
    print("  top kling_batch functions by cumulative time:")
    ours = [item for item in raw.items() if "kling_batch/" in item[0][0].replace(os.sep, "/")]
    for (filename, line, function), (_, calls, _, cumulative, _) in sorted(
        ours, key=lambda item: -item[1][3]
    )[:12]:
        print(
            f"    {cumulative / total:6.1%}  {calls / entries:6.1f} calls/entry  "
            f"{function}  ({_short(filename)}:{line})"
        )


def _short(filename: str) -> str:
    path = filename.replace(os.sep, "/")
    for anchor in ("kling_batch/", "site-packages/", "python3.11/"):
        if anchor in path:
            return path[path.index(anchor) :]
    return path


# -- the store's statements and sync points per entry ---------------------------------------


@dataclass(frozen=True)
class IoRun:
    entries: int
    trace: IoTrace
    polls: int
    seconds: float

    def per_entry(self, count: int) -> float:
        return count / self.entries


def io_run(entries: int, folder: Path, render_seconds: float) -> IoRun:
    """A plain render of `entries` shots (create, polls, download) against the in-process
    simulator, every statement of the state store and every fsync of ours counted."""
    manifest = write_manifest(folder, entries, "io")
    simulator = Simulator(
        SimulatorConfig(
            render_seconds=render_seconds,
            render_jitter=0.0,
            submit_rate=None,
            query_rate=None,
            list_rate=None,
            seed=1,
        )
    )
    connection = Connection(
        SIMULATED_BASE_URL,
        BENCH_KEY,
        transport=simulator_transport(simulator),
        pacing=Pacing(UNPACED, UNPACED),
    )
    options = RunOptions(concurrency=SLOTS, poll_interval=0.05, handle_signals=False)
    output = folder / "out"
    started = time.perf_counter()
    with traced_io() as trace:
        run(manifest, connection, output, options)
    seconds = time.perf_counter() - started
    layout = OutputLayout.for_manifest(output, manifest.name)
    polls = sum(len(read_json_lines(layout.polls_file(e.id))) for e in manifest.entries)
    return IoRun(entries, trace, polls, seconds)


def report_io(options: argparse.Namespace) -> bool:
    if options.strace:
        return report_strace(options)
    print(
        f"{options.entries} entries, one plain render each (create, polls, download) against the "
        f"in-process simulator ({options.render_seconds:g} s renders), {options.runs} runs"
    )
    runs = []
    for _ in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="kling-bench-") as scratch:
            runs.append(io_run(options.entries, Path(scratch), options.render_seconds))
    for result in runs:
        trace = result.trace
        print(
            f"  run: {result.polls / result.entries:.2f} polls/entry, "
            f"{result.per_entry(len(trace.statements)):.2f} statements/entry, "
            f"{result.per_entry(trace.sqlite_syncs):.2f} SQLite sync points + "
            f"{result.per_entry(trace.own_fsyncs):.2f} fsyncs of ours = "
            f"{result.per_entry(trace.fsyncs):.2f} fsyncs/entry ({result.seconds:.1f} s)"
        )
    statements = statistics.median(r.per_entry(len(r.trace.statements)) for r in runs)
    fsyncs = statistics.median(r.per_entry(r.trace.fsyncs) for r in runs)
    print("  statements by shape (per entry, last run):")
    last = runs[-1]
    for shape, count in last.trace.by_shape().most_common(14):
        print(f"    {last.per_entry(count):6.2f}  {shape}")
    met = statements <= GOAL_STATEMENTS_PER_ENTRY and fsyncs <= GOAL_FSYNCS_PER_ENTRY
    print(
        f"  per entry: {statements:.2f} SQL statements (goal <= {GOAL_STATEMENTS_PER_ENTRY:g}), "
        f"{fsyncs:.2f} fsyncs (goal <= {GOAL_FSYNCS_PER_ENTRY:g}; checkpoints not counted, "
        f"see --strace): {'met' if met else 'MISSED'}"
    )
    return met


def report_strace(options: argparse.Namespace) -> bool:
    """The same runs in a child process under strace: the fsync and fdatasync system calls it
    made, SQLite's checkpoints included."""
    if shutil.which("strace") is None:
        raise SystemExit("bench: --strace needs strace on PATH")
    figures = []
    for _ in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="kling-bench-") as scratch:
            log = Path(scratch) / "strace.log"
            child = [
                sys.executable,
                __file__,
                "io",
                "--entries",
                str(options.entries),
                "--runs",
                "1",
                "--render-seconds",
                f"{options.render_seconds:g}",
            ]
            command = ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(log)]
            done = subprocess.run([*command, *child], capture_output=True, text=True, check=False)
            modelled = [line for line in done.stdout.splitlines() if "run:" in line]
            calls = count_calls(log.read_text(encoding="utf-8"))
            figures.append(calls / options.entries)
            print(f"  {modelled[0].strip() if modelled else done.stderr[-300:]}")
            per_entry = calls / options.entries
            print(f"    strace: {calls} fsync/fdatasync calls = {per_entry:.2f}/entry")
    per_entry = statistics.median(figures)
    met = per_entry <= GOAL_FSYNCS_PER_ENTRY
    print(
        f"  fsync + fdatasync per entry, as made (strace, checkpoints included): {per_entry:.2f} "
        f"(goal <= {GOAL_FSYNCS_PER_ENTRY:g}): {'met' if met else 'MISSED'}"
    )
    return met


# -- the command line ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, what in (
        ("makespan", "makespan against the ideal schedule and the 15 s loops"),
        ("polling", "polls per task and detection lag against a fixed 15 s loop"),
        ("renders", "makespan and polling, from the same runs"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("--entries", type=int, default=60)
        command.add_argument("--runs", type=int, default=5)
        command.add_argument("--render-seconds", type=float, default=120.0, help="simulated")
        command.add_argument("--jitter", type=float, default=0.3)
        command.add_argument(
            "--speed", type=float, default=30.0, help="simulated seconds per real second"
        )
        command.add_argument("--poll-interval", type=float, default=5.0, help="simulated")
    cpu = commands.add_parser("cpu", help="the runner's CPU per entry")
    cpu.add_argument("--entries", type=int, default=1000)
    cpu.add_argument("--runs", type=int, default=5)
    cpu.add_argument("--profile", action="store_true", help="also where the time goes")
    cpu.add_argument(
        "--scratch", type=Path, help="keep the runs' outputs under this folder (not removed)"
    )
    store_io = commands.add_parser("io", help="SQL statements and fsyncs per entry")
    store_io.add_argument("--entries", type=int, default=300)
    store_io.add_argument("--runs", type=int, default=3)
    store_io.add_argument("--render-seconds", type=float, default=0.3)
    store_io.add_argument("--strace", action="store_true", help="count the real fsync calls")
    options = parser.parse_args(argv)

    if options.command == "cpu":
        return 0 if report_cpu(options) else 1
    if options.command == "io":
        return 0 if report_io(options) else 1
    runs = render_runs(options)
    met = True
    if options.command in ("makespan", "renders"):
        met &= report_makespan(runs)
    if options.command in ("polling", "renders"):
        met &= report_polling(runs, options.poll_interval)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
