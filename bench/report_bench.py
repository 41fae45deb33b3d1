"""How long the report of a 1,000-entry output takes: the first time (every poster frame made)
and again (every frame kept), and how large the page is.

Fills an output folder the way a run leaves one, without a run (1,000 renders on the simulator
would take minutes of pacing): for each entry the state store's records through the runner's
own transitions, request.json, task.json with the service's submit and end times, and a video
of the simulator's clips (std, 16:9 or 9:16) with a box naming the entry, so that every video
has bytes of its own and no poster can stand in for another. Then `write_report` runs on it,
first from nothing (each poster read by ffmpeg), then twice more with everything kept.
Goals: <= 10 s the first time, <= 2 s after; report.html under 2 MB (the pictures are files
beside it). "The first time" is measured both ways: the report at the end of a run, which made
each poster as its video arrived, and the report of an output without any poster.

    .venv/bin/python bench/report_bench.py [--entries 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validate_scale import compile_package  # noqa: E402  # beside this script, on its sys.path

from kling_batch.api.types import Task, TaskStatus, Usage  # noqa: E402
from kling_batch.hashing import sha256_file  # noqa: E402
from kling_batch.manifest import load  # noqa: E402
from kling_batch.manifest.model import Manifest  # noqa: E402
from kling_batch.report import write_report  # noqa: E402
from kling_batch.report.frames import FRAME_WORKERS, POSTER_FILE  # noqa: E402
from kling_batch.runner.artifacts import OutputLayout, write_json_atomic  # noqa: E402
from kling_batch.runner.echo import EchoBasis  # noqa: E402
from kling_batch.runner.records import FileRecord  # noqa: E402
from kling_batch.runner.state import StateStore  # noqa: E402
from kling_batch.runner.transitions import downloaded, task_seen  # noqa: E402

CLIPS = ROOT / "kling_batch" / "simulator" / "clips"
GOAL_FIRST_SECONDS = 10.0
GOAL_AGAIN_SECONDS = 2.0
GOAL_PAGE_BYTES = 2 * 1024 * 1024
_BEIJING = timedelta(hours=8)


def write_manifest(folder: Path, entries: int) -> Manifest:
    lines = ["version: 1", "name: bench", "defaults: {mode: std, duration: 5}", "shots:"]
    for n in range(entries):
        shape = "9:16" if n % 4 == 3 else "16:9"
        lines.append(f"  - id: shot-{n:04d}")
        lines.append(f"    prompt: a red mug on a wooden table, take {n}, slow dolly in")
        lines.append(f'    aspect_ratio: "{shape}"')
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load(path)


def fill_output(manifest: Manifest, layout: OutputLayout) -> None:
    """Every entry done, as the runner records it, with a video of its own."""
    clips = {shape: (CLIPS / f"std-{shape}.mp4").read_bytes() for shape in ("16x9", "9x16")}
    store = StateStore(layout.state)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        for n, entry in enumerate(manifest.entries):
            task_id = f"task-{n:04d}"
            layout.entry_dir(entry.id).mkdir(parents=True, exist_ok=True)
            write_json_atomic(layout.request_file(entry.id), {"model": entry.model})
            store.record_intent(
                entry.id,
                fingerprint=f"f{n}",
                model=entry.model,
                body_sha256=f"b{n}",
                basis=EchoBasis(prompt=entry.prompt),
            )
            store.record_submitted(entry.id, Task(task_id=task_id, status=TaskStatus.PENDING))
            submitted = start + timedelta(seconds=n)
            ended = submitted + timedelta(seconds=100 + n % 40)
            task = Task(
                task_id=task_id,
                status=TaskStatus.SUCCEEDED,
                request_id=f"req-{n:04d}",
                end_time=ended,
                video_url=f"https://example.com/{task_id}.mp4",
                usage=Usage(duration=5),
            )
            record = store.get(entry.id)
            assert record is not None
            store.apply(entry.id, task_seen(record, task, time.time()))
            shape = (entry.aspect_ratio or "16:9").replace(":", "x")
            payload = f"kling-batch bench: {entry.id}".encode()
            video = layout.entry_dir(entry.id) / "video.mp4"
            video.write_bytes(
                clips[shape] + struct.pack(">I", 8 + len(payload)) + b"free" + payload
            )
            kept = FileRecord("video.mp4", video.stat().st_size, sha256_file(video))
            store.apply(entry.id, downloaded((kept,)))
            times = {
                "submit_time": _service_time(submitted),
                "end_time": _service_time(ended),
            }
            answer = {"output": {"task_id": task_id, "task_status": "SUCCEEDED", **times}}
            write_json_atomic(layout.task_file(entry.id), answer)
    finally:
        store.close()


def _service_time(moment: datetime) -> str:
    return (moment + _BEIJING).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def timed_report(layout: OutputLayout, manifest: Manifest) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its ffmpeg children) of one write_report."""
    store = StateStore(layout.state, readonly=True)
    try:
        cpu = _cpu()
        wall = time.perf_counter()
        write_report(layout, manifest, store)
        return time.perf_counter() - wall, _cpu() - cpu
    finally:
        store.close()


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build the output here and keep it")
    args = parser.parse_args()
    compile_package()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        manifest = write_manifest(folder, args.entries)
        layout = OutputLayout.for_manifest(folder / "out", manifest.name)
        started = time.perf_counter()
        fill_output(manifest, layout)
        print(f"{args.entries} done entries written in {time.perf_counter() - started:.1f} s")
        print(f"poster frames made {FRAME_WORKERS} at a time ({os.cpu_count()} cores)")
        first, first_cpu = timed_report(layout, manifest)
        again = [timed_report(layout, manifest) for _ in range(2)]
        # A run makes each poster as its video arrives (report/pictures.py, PosterMaker): its
        # report finds them made, and draws the page and the contact sheet for the first time.
        layout.report.unlink()
        (layout.folder / "contact-sheet.png").unlink()
        after_run, after_run_cpu = timed_report(layout, manifest)
        page = layout.report.stat().st_size
        posters = sum(p.stat().st_size for p in layout.folder.glob(f"*/{POSTER_FILE}"))
        sheet = (layout.folder / "contact-sheet.png").stat().st_size
        made = len(list(layout.folder.glob(f"*/{POSTER_FILE}")))
        again_wall = min(wall for wall, _ in again)
        print(
            f"first report:  {first:6.2f} s wall, {first_cpu:6.2f} s CPU "
            f"({made} posters, {1000 * first_cpu / max(1, made):.0f} ms CPU each)  "
            f"goal <= {GOAL_FIRST_SECONDS:g} s"
        )
        print(
            f"after a run:   {after_run:6.2f} s wall, {after_run_cpu:6.2f} s CPU (its posters made "
            "as the videos arrived; "
            f"page and contact sheet new)  goal <= {GOAL_FIRST_SECONDS:g} s"
        )
        print(
            f"again:         {again_wall:6.2f} s wall (best of 2; "
            f"{', '.join(f'{w:.2f} wall {c:.2f} CPU' for w, c in again)})  "
            f"goal <= {GOAL_AGAIN_SECONDS:g} s"
        )
        print(
            f"report.html:   {page / 1024 / 1024:6.2f} MB ({page / args.entries:.0f} bytes "
            f"a card)  goal < {GOAL_PAGE_BYTES / 1024 / 1024:g} MB; beside it "
            f"{posters / 1024 / 1024:.1f} MB of posters, contact sheet {sheet / 1024:.0f} KB"
        )
        met = after_run <= GOAL_FIRST_SECONDS and again_wall <= GOAL_AGAIN_SECONDS
        met = met and page < GOAL_PAGE_BYTES
        cold = first <= GOAL_FIRST_SECONDS
        print("goals met" if met else "goal missed", end="")
        print("" if cold else f"; missed for an output without posters ({first:.1f} s)")
        met = met and cold
        return 0 if met else 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
