"""A finished 10,000-entry output: how fast it resumes, and how fast `status` and `plan` answer.

    .venv/bin/python bench/scale_bench.py [--entries 10000] [--runs 5] [--cache DIR] [--rebuild]

The output is built once by really running a manifest of `--entries` text shots against the
in-process simulator (zero render time, no rate limits) and kept in `--cache` (default: a folder
under the system's temporary directory, named by the entry count and the store's schema
version), so later runs time only what they are about:

- resume: `run_manifest` again on the finished output (results.jsonl and report.html
  included), in a fresh process, against a fresh in-process simulator whose transport counts
  every request (goal: none) -- the call's wall and CPU time, and the process's peak memory;
- `kling-batch status MANIFEST` and `kling-batch plan MANIFEST`, each in a fresh process: wall
  and CPU time from start to exit (imports and loading the manifest included), peak memory.

Each is run `--runs` times; medians of the times and the largest peak are printed with the
goals (<= 2 s each, <= 200 MB), and the script exits 1 if one is missed. A resume appends to
events.jsonl: it is cut back to its size before each timed run, so every run starts alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from validate_scale import compile_package  # beside this script, on its sys.path

from kling_batch.api import ApiKey, Pacing
from kling_batch.batch import run_manifest
from kling_batch.manifest import load
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection
from kling_batch.runner.migrations import MIGRATIONS
from kling_batch.runner.options import RunOptions
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

GOAL_SECONDS = 2.0
GOAL_MB = 200.0
NAME = "scale"
BASE_URL = "http://localhost/api/v1"
# The simulator takes any non-empty key; this one is not a secret and reaches no service.
KEY = ApiKey("bench-simulator-key")
UNPACED = 1e6
_READY = "ready"  # written last: a cache without it was cut short and is built again
# Part of the cache's name: raised when what a run leaves on disk changes (2: file stamps).
_CACHE_FORMAT = 2


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes every request on, and counts them: the proof that a resume sent none."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)


def write_manifest(folder: Path, entries: int) -> Path:
    """`entries` text shots of one kind (std, 5 s, 16:9)."""
    shots = "".join(
        f"  - id: s-{i:05d}\n    prompt: a paper boat drifts down a rainy street, take {i}\n"
        for i in range(entries)
    )
    path = folder / f"{NAME}.yaml"
    path.write_text(
        f"version: 1\nname: {NAME}\n"
        'defaults: {mode: std, duration: 5, aspect_ratio: "16:9"}\n'
        f"shots:\n{shots}",
        encoding="utf-8",
    )
    return path


def connection() -> tuple[Connection, CountingTransport]:
    simulator = Simulator(
        SimulatorConfig(
            render_seconds=0.0,
            render_jitter=0.0,
            submit_rate=None,
            query_rate=None,
            list_rate=None,
            slots=50,
        )
    )
    transport = CountingTransport(simulator_transport(simulator))
    pacing = Pacing(UNPACED, UNPACED)
    return Connection(BASE_URL, KEY, transport, pacing, in_process=True), transport


def options() -> RunOptions:
    return RunOptions(concurrency=50, poll_interval=0.05, handle_signals=False)


def finished_output(cache: Path, entries: int, rebuild: bool) -> Path:
    """The cache folder with a manifest and its finished output; built on first use."""
    if rebuild or not (cache / _READY).exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        write_manifest(cache, entries)
        print(f"building the finished output of {entries:,} entries in {cache} ...", flush=True)
        started = time.perf_counter()
        # In a process of its own: a child's peak memory counts its parent's at the fork, so
        # this one must stay small.
        subprocess.run([sys.executable, __file__, "--build-child", str(cache)], check=True)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
        (cache / _READY).write_text("")
    return cache


def build_child(cache: Path) -> None:
    """Runs in the child: the run that finishes every entry of the cached manifest."""
    through, _ = connection()
    manifest = load(cache / f"{NAME}.yaml")
    summary = anyio.run(run_manifest, manifest, through, cache / "out", options())
    if not summary.all_done:
        raise SystemExit(f"scale_bench: the build did not finish every entry: {summary}")


@dataclass(frozen=True)
class Timing:
    seconds: float  # wall
    cpu: float  # the process's user + system CPU seconds (on a shared machine, the steadier)
    peak_mb: float
    requests: int | None = None


def timed(command: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one command, by wait4."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if process.returncode not in (0, 1):
        raise SystemExit(f"scale_bench: {' '.join(command[2:5])} failed:\n{text[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, text  # ru_maxrss is in KB on Linux


def resume_child(cache: Path) -> None:
    """Runs in the child: one resume, printed as JSON (seconds, requests)."""
    manifest = load(cache / f"{NAME}.yaml")
    through, transport = connection()
    started, cpu = time.perf_counter(), time.process_time()
    summary = anyio.run(run_manifest, manifest, through, cache / "out", options())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    found = {
        "seconds": elapsed,
        "cpu": cpu,
        "requests": transport.requests,
        "done": summary.all_done,
    }
    print(json.dumps(found))


def measure(cache: Path, what: str) -> Timing:
    manifest = str(cache / f"{NAME}.yaml")
    output = str(cache / "out")
    if what == "resume":
        _, _, peak, text = timed([sys.executable, __file__, "--resume-child", str(cache)])
        found = json.loads(text.strip().splitlines()[-1])
        if not found["done"]:
            raise SystemExit("scale_bench: the resume left entries unfinished")
        return Timing(found["seconds"], found["cpu"], peak, found["requests"])
    command = [sys.executable, "-m", "kling_batch", what, manifest, "--output", output]
    seconds, cpu, peak, _ = timed(command)
    return Timing(seconds, cpu, peak)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, help="where the finished output is kept")
    parser.add_argument("--rebuild", action="store_true", help="build the output again")
    parser.add_argument("--resume-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build-child", type=Path, help=argparse.SUPPRESS)
    parsed = parser.parse_args(argv)
    if parsed.resume_child is not None:
        resume_child(parsed.resume_child)
        return 0
    if parsed.build_child is not None:
        build_child(parsed.build_child)
        return 0
    name = f"kling-scale-bench-{parsed.entries}-v{len(MIGRATIONS)}.{_CACHE_FORMAT}"
    default = Path(tempfile.gettempdir()) / name
    cache = finished_output(parsed.cache or default, parsed.entries, parsed.rebuild)
    compile_package()  # every timed process starts from bytecode, as an installed one does
    events = OutputLayout.for_manifest(cache / "out", NAME).events
    size = events.stat().st_size
    print(f"{parsed.entries:,} finished entries in {cache}; {parsed.runs} runs of each")
    met = True
    for what in ("resume", "status", "plan"):
        timings = []
        for _ in range(parsed.runs):
            with events.open("r+b") as log:  # every run starts from the same events.jsonl
                log.truncate(size)
            timings.append(measure(cache, what))
        seconds = statistics.median(t.seconds for t in timings)
        cpu = statistics.median(t.cpu for t in timings)
        peak = max(t.peak_mb for t in timings)
        ok = seconds <= GOAL_SECONDS and peak <= GOAL_MB
        line = (
            f"  {what:7} median {seconds:5.2f} s [{', '.join(f'{t.seconds:.2f}' for t in timings)}]"
            f" (goal <= {GOAL_SECONDS:g} s; CPU {cpu:.2f} s), peak {peak:4.0f} MB"
            f" (goal <= {GOAL_MB:g} MB)"
        )
        if what == "resume":
            requests = max(t.requests or 0 for t in timings)
            ok = ok and requests == 0
            line += f", requests sent {requests} (goal 0)"
        print(f"{line}: {'met' if ok else 'MISSED'}", flush=True)
        met &= ok
    with events.open("r+b") as log:
        log.truncate(size)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
