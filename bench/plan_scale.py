"""How long `kling-batch plan` takes on a manifest whose matrices give 10,000 entries, and how
much memory.

Writes the manifest of `validate_scale.py --matrix` (ten entries whose matrices, takes and a
100-row CSV table expand to 10,000) into a temporary folder, then runs, each in a fresh process
and alternately, `kling-batch plan` (the table with a line and a subtotal per source),
`kling-batch plan --json`, and `kling-batch validate` on it, with an output that holds no run
yet. Prints the median wall time and CPU time (user + system) of each, the peak resident
memory, and the machine's load average before and after: on a shared machine, wall time
includes the wait for a core, so CPU time is the figure to compare. Goal for `plan`: <= 2 s
(CPU and wall) and <= 200 MB.

    .venv/bin/python bench/plan_scale.py [--entries 10000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from validate_scale import (
    compile_package,
    write_matrix_manifest,
)  # beside this script, on its sys.path

GOAL_SECONDS, GOAL_MB = 2.0, 200.0


def run_once(*args: str) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB, exit status) of one `kling-batch ARGS`."""
    command = [sys.executable, "-m", "kling_batch", *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the manifest here and keep it")
    options = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = str(write_matrix_manifest(folder, options.entries))
        output = str(folder / "out")
        commands = {
            "plan": ("plan", manifest, "--output", output),
            "plan --json": ("plan", manifest, "--output", output, "--json"),
            "validate": ("validate", manifest),
        }
        print(f"manifest: {options.entries:,} entries (matrices), {options.runs} runs each")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in commands}
        for _ in range(options.runs):
            for name, args in commands.items():
                results[name].append(run_once(*args))
        print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    met = True
    for name, runs in results.items():
        if any(status != 0 for *_, status in runs):
            print(f"kling-batch {name} failed on the generated manifest", file=sys.stderr)
            return 1
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        peak = max(r[2] for r in runs)
        goal = "" if name == "validate" else f" (goal <= {GOAL_SECONDS} s, {GOAL_MB:.0f} MB)"
        print(f"{name:<12} wall {wall:5.2f} s  CPU {cpu:5.2f} s  peak RSS {peak:4.0f} MB{goal}")
        if name != "validate":
            met = met and wall <= GOAL_SECONDS and cpu <= GOAL_SECONDS and peak <= GOAL_MB
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
