"""How long `kling-batch validate` takes on a 10,000-entry manifest, and how much memory.

Writes a manifest that mixes every capability (text, first frame and first + last frame from
local images, omni references and edits, both kinds of storyboard) into a temporary folder,
runs `kling-batch validate` on it several times in a fresh process each time, and prints the
median wall time and the peak resident memory. Goal: <= 1.5 s and <= 150 MB.

    .venv/bin/python bench/validate_scale.py [--entries 10000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "manifests" / "assets"
GOAL_SECONDS = 1.5
GOAL_MB = 150.0

_KINDS = (
    "  - id: t2v-{i:05d}\n"
    "    prompt: a cat running under the moon, take {i}, slow dolly in, cinematic light\n",
    "  - id: frame-{i:05d}\n"
    "    prompt: steam rises from the cup, take {i}\n"
    "    media:\n"
    "      - {{type: first_frame, path: assets/coffee-cup.jpg}}\n",
    "  - id: loop-{i:05d}\n"
    "    prompt: the flower opens, take {i}\n"
    "    duration: 5\n"
    "    media:\n"
    "      - {{type: first_frame, path: assets/flower-start.png}}\n"
    "      - {{type: last_frame, path: assets/flower-end.png}}\n",
    "  - id: ref-{i:05d}\n"
    "    model: omni\n"
    '    aspect_ratio: "9:16"\n'
    "    prompt: <<<image_1>>> and <<<element_1>>> walk in the park, take {i}\n"
    "    media:\n"
    '      - {{type: refer, url: "https://example.com/refs/{i}.jpg"}}\n'
    "    element_list: [171]\n",
    "  - id: edit-{i:05d}\n"
    "    model: omni\n"
    "    prompt: make the sky purple, take {i}\n"
    "    media:\n"
    '      - {{type: base, url: "https://example.com/clips/{i}.mp4", keep_original_sound: true}}\n',
)
_STORYBOARDS = (
    "  - id: board-{i:05d}\n"
    "    shot_type: customize\n"
    "    multi_prompt:\n"
    "      - {{prompt: wide shot of a city at dawn, duration: 2}}\n"
    "      - {{prompt: close-up of cup {i}, duration: 2}}\n",
    "  - id: story-{i:05d}\n"
    "    shot_type: intelligence\n"
    "    prompt: a day in the life of barista {i}\n",
)


def write_manifest(folder: Path, entries: int) -> Path:
    """A valid manifest of `entries` entries (one in five a storyboard) in `folder`."""
    shutil.copytree(ASSETS, folder / "assets", dirs_exist_ok=True)
    shots, boards = [], []
    for i in range(entries):
        if i % 5 == 4:
            boards.append(_STORYBOARDS[(i // 5) % 2].format(i=i))
        else:
            shots.append(_KINDS[i % len(_KINDS)].format(i=i))
    head = (
        'version: 1\nname: scale\ndefaults:\n  mode: std\n  aspect_ratio: "16:9"\n  duration: 4\n'
    )
    path = folder / "scale.yaml"
    path.write_text(head + "shots:\n" + "".join(shots) + "storyboards:\n" + "".join(boards))
    return path


def run_once(manifest: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one `kling-batch validate`."""
    command = [sys.executable, "-m", "kling_batch", "validate", str(manifest)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode  # ru_maxrss is in KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the manifest here and keep it")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = write_manifest(folder, options.entries)
        size_mb = manifest.stat().st_size / 1e6
        print(f"manifest: {options.entries:,} entries, {size_mb:.1f} MB, {options.runs} runs")
        results = [run_once(manifest) for _ in range(options.runs)]
    if any(status != 0 for _, _, status in results):
        print("kling-batch validate did not accept the generated manifest", file=sys.stderr)
        return 1
    seconds = statistics.median(r[0] for r in results)
    peak = max(r[1] for r in results)
    print(f"wall time: median {seconds:.2f} s (goal <= {GOAL_SECONDS} s)")
    print(f"peak RSS:  {peak:.0f} MB (goal <= {GOAL_MB:.0f} MB)")
    return 0 if seconds <= GOAL_SECONDS and peak <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
