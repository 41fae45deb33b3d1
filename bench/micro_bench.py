"""Two small costs the runner pays per request or per video, each beside its baseline.

    .venv/bin/python bench/micro_bench.py retry     [--calls 20000] [--runs 5]
    .venv/bin/python bench/micro_bench.py handover  [--videos 2000] [--runs 5]

`retry`: CPU of `RetryPolicy.call` around a coroutine that succeeds at once, against awaiting
the coroutine itself (api/retry.py). `handover`: the run's CPU per video handed to the poster
process (report/poster_process.py), one every 0.5 ms as a run would, less the same loop
without handing anything over; the child's CPU is not counted. Run it with
`PYTHONPATH=<another checkout>` to measure that checkout's code. Each prints the median of
`--runs` runs, in microseconds.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio

from kling_batch.api.retry import RetryPolicy
from kling_batch.delivery.videos import DoneVideo
from kling_batch.report.poster_process import PosterProcess

_SPACING = 0.0005  # seconds between two handovers


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def retry_us(calls: int) -> tuple[float, float]:
    """(µs per `RetryPolicy.call`, µs per bare await) of a call that succeeds."""
    policy = RetryPolicy()
    decide = policy.for_reads()

    async def succeed() -> int:
        return 1

    async def measure() -> tuple[float, float]:
        started = time.process_time()
        for _ in range(calls):
            await policy.call(decide, succeed)
        wrapped = time.process_time() - started
        started = time.process_time()
        for _ in range(calls):
            await succeed()
        bare = time.process_time() - started
        return 1e6 * wrapped / calls, 1e6 * bare / calls

    return anyio.run(measure)


def handover_us(videos: int, folder: Path) -> float:
    """The run's CPU (µs) per video handed over, less the pacing loop's own."""
    process = PosterProcess()
    # Videos that do not exist: the child skips each at once, so it always keeps up.
    missing = [DoneVideo(f"v{n}", folder / "none" / f"{n}.mp4", 1, "0" * 64) for n in range(videos)]
    process.submit(missing[0], folder)
    time.sleep(1.0)  # the child started and past its imports
    try:
        started = _cpu()
        for video in missing[1:]:
            process.submit(video, folder)
            time.sleep(_SPACING)
        handing = _cpu() - started
    finally:
        process.close()
    started = _cpu()
    for _ in missing[1:]:
        time.sleep(_SPACING)
    pacing = _cpu() - started
    return 1e6 * (handing - pacing) / (videos - 1)


def _median(label: str, runs: int, measure: Callable[[], float]) -> None:
    _report(label, [measure() for _ in range(runs)])


def _report(label: str, found: list[float]) -> None:
    shown = ", ".join(f"{value:.1f}" for value in found)
    print(f"  {label}: median {statistics.median(found):.1f} us [{shown}]")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    retry = commands.add_parser("retry", help="RetryPolicy.call around a call that succeeds")
    retry.add_argument("--calls", type=int, default=20000)
    retry.add_argument("--runs", type=int, default=5)
    handover = commands.add_parser("handover", help="a video handed to the poster process")
    handover.add_argument("--videos", type=int, default=2000)
    handover.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    if options.command == "retry":
        found = [retry_us(options.calls) for _ in range(options.runs)]
        print(f"RetryPolicy.call, {options.calls} calls that succeed, {options.runs} runs")
        _report("through the policy", [wrapped for wrapped, _ in found])
        _report("the bare await", [bare for _, bare in found])
        return 0
    print(f"{options.videos} videos handed to the poster process, {options.runs} runs")
    with tempfile.TemporaryDirectory(prefix="kling-handover-") as scratch:
        _median("per handover", options.runs, lambda: handover_us(options.videos, Path(scratch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
