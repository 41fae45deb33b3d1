"""How long `kling-batch validate` takes on a 10,000-entry manifest, and how much memory.

Writes a manifest that mixes every capability (text, first frame and first + last frame from
local images, omni references and edits, both kinds of storyboard) into a temporary folder,
runs `kling-batch validate` on it several times in a fresh process each time, and prints the
median wall time and the peak resident memory. Goal: <= 1.5 s and <= 150 MB.

`--matrix` writes the same mix as ten entries whose matrices (and, for one, a 100-row CSV
file) expand to the 10,000 entries instead, so that the run also expands them: variables in
ids, prompts, URLs, paths and shot prompts, axes that set fields, excludes, includes and takes.
Goal: <= 2 s and <= 200 MB.

    .venv/bin/python bench/validate_scale.py [--matrix] [--entries 10000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import compileall
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
GOALS = {False: (1.5, 150.0), True: (2.0, 200.0)}  # by --matrix: seconds, MB

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


# Ten entries that expand to `per` entries each: `scene` x `subject` (10 x 10) x `n` (per / 100),
# or takes, or the rows of a CSV file. Plain strings: `{{...}}` is the manifest's own syntax.
_AXES = "scene: [{scenes}], subject: [{subjects}]"
_SOURCES = (
    '  - id: "t2v-{{scene}}-{{subject}}-{{n}}"\n'
    '    prompt: "{{brand}} {{subject}} in the {{scene}}, take {{n}}, slow dolly in"\n'
    "    matrix: {AXES, N}\n",
    '  - id: "wide-{{scene}}-{{subject}}-{{n}}"\n'
    '    prompt: "a {{subject}} crossing the {{scene}}, shot {{n}}"\n'
    "    mode: pro\n"
    "    matrix: {AXES, N}\n",
    '  - id: "frame-{{sku}}-{{n}}"\n'
    '    prompt: "{{title}}, take {{n}}"\n'
    "    media:\n"
    '      - {type: first_frame, path: "assets/{{image}}"}\n'
    "    rows: products.csv\n"
    "    matrix: {N}\n",
    '  - id: "loop-{{scene}}-{{subject}}-{{n}}"\n'
    '    prompt: "the flower opens in the {{scene}} near a {{subject}}, take {{n}}"\n'
    "    duration: 5\n"
    "    media:\n"
    "      - {type: first_frame, path: assets/flower-start.png}\n"
    "      - {type: last_frame, path: assets/flower-end.png}\n"
    "    matrix: {AXES, N}\n",
    '  - id: "ref-{{scene}}-{{subject}}-{{n}}"\n'
    "    model: omni\n"
    '    prompt: "<<<image_1>>> and <<<element_1>>> walk in the {{scene}}, take {{n}}"\n'
    "    media:\n"
    '      - {type: refer, url: "https://example.com/refs/{{subject}}-{{n}}.jpg"}\n'
    "    element_list: [171]\n"
    "    matrix: {AXES, N}\n",
    '  - id: "edit-{{scene}}-{{subject}}-{{n}}"\n'
    "    model: omni\n"
    '    prompt: "make the sky of the {{scene}} purple, take {{n}}"\n'
    "    media:\n"
    '      - {type: base, url: "https://example.com/clips/{{subject}}-{{n}}.mp4", '
    "keep_original_sound: true}\n"
    "    matrix: {AXES, N}\n",
    '  - id: "ratio-{{scene}}-{{aspect_ratio}}-{{subject}}-{{n}}"\n'
    '    prompt: "{{brand}} {{subject}} on a table in the {{scene}}, take {{n}}"\n'
    '    matrix: {AXES, aspect_ratio: ["16:9"], N,\n'
    "             exclude: [{scene: park, subject: cat, n: 1}],\n"
    '             include: [{scene: park, subject: cat, aspect_ratio: "1:1", n: 1}]}\n',
    '  - id: "take-{{scene}}-{{subject}}"\n'
    '    prompt: "a {{subject}} at dawn in the {{scene}}"\n'
    "    matrix: {AXES}\n"
    "    takes: TAKES\n",
)
_BOARDS = (
    '  - id: "board-{{scene}}-{{subject}}-{{n}}"\n'
    "    shot_type: customize\n"
    "    multi_prompt:\n"
    '      - {prompt: "wide shot of the {{scene}} at dawn", duration: 2}\n'
    '      - {prompt: "close-up of a {{subject}}, take {{n}}", duration: 2}\n'
    "    matrix: {AXES, N}\n",
    '  - id: "story-{{scene}}-{{subject}}-{{n}}"\n'
    "    shot_type: intelligence\n"
    '    prompt: "a day in the life of a {{subject}} in the {{scene}}, part {{n}}"\n'
    "    matrix: {AXES, N}\n",
)
_SCENES = [
    "park",
    "harbour",
    "market",
    "desert",
    "forest",
    "studio",
    "rooftop",
    "kitchen",
    "garden",
    "station",
]
_SUBJECTS = [
    "cat",
    "mug",
    "bottle",
    "lamp",
    "bicycle",
    "kite",
    "robot",
    "teapot",
    "guitar",
    "umbrella",
]
_IMAGES = ("coffee-cup.jpg", "cat-moonlight.jpg", "flower-start.png")


def write_matrix_manifest(folder: Path, entries: int) -> Path:
    """Ten entries whose matrices (one with a rows file) expand to `entries` entries."""
    if entries % 1000:
        raise SystemExit("--matrix needs --entries in thousands")
    shutil.copytree(ASSETS, folder / "assets", dirs_exist_ok=True)
    per = entries // 10
    takes = per // 100
    axes = _AXES.format(scenes=", ".join(_SCENES), subjects=", ".join(_SUBJECTS))
    numbers = f"n: [{', '.join(str(n) for n in range(1, takes + 1))}]"

    def filled(source: str) -> str:
        return (
            source.replace("AXES", axes).replace("N}", numbers + "}").replace("N,", numbers + ",")
        ).replace("TAKES", str(takes))

    rows = "".join(
        f"p{i:03d},a {_SUBJECTS[i % 10]} in the {_SCENES[i // 10]},{_IMAGES[i % 3]}\n"
        for i in range(100)
    )
    (folder / "products.csv").write_text("sku,title,image\n" + rows)
    head = (
        f"version: 1\nname: scale-matrix\nvars: {{brand: Acme}}\nmax_entries: {max(per, 1000)}\n"
        'defaults:\n  mode: std\n  aspect_ratio: "16:9"\n  duration: 4\n'
    )
    shots = "".join(filled(source) for source in _SOURCES)
    boards = "".join(filled(board) for board in _BOARDS)
    path = folder / "scale.yaml"
    path.write_text(head + "shots:\n" + shots + "storyboards:\n" + boards)
    return path


def compile_package() -> None:
    """Write the package's bytecode before timing: an installed package has it, and a shell
    with PYTHONDONTWRITEBYTECODE (this machine's) would otherwise compile every module again
    in every timed process (about 0.3 s of CPU)."""
    package = Path(__file__).resolve().parents[1] / "kling_batch"
    compileall.compile_dir(str(package), quiet=1)


def run_once(manifest: Path) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS in MB, exit status, CPU seconds) of one `kling-batch validate`.

    CPU time (user + system) is what to compare on a busy machine: wall time includes waiting
    for a core.
    """
    command = [sys.executable, "-m", "kling_batch", "validate", str(manifest)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, process.returncode, cpu  # ru_maxrss: KB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the manifest here and keep it")
    parser.add_argument(
        "--matrix", action="store_true", help="ten entries whose matrices expand to --entries"
    )
    options = parser.parse_args()
    compile_package()
    goal_seconds, goal_mb = GOALS[options.matrix]
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        write = write_matrix_manifest if options.matrix else write_manifest
        manifest = write(folder, options.entries)
        size = manifest.stat().st_size
        shown = f"{size / 1e3:.1f} kB" if size < 1e6 else f"{size / 1e6:.1f} MB"
        print(f"manifest: {options.entries:,} entries, {shown}, {options.runs} runs")
        results = [run_once(manifest) for _ in range(options.runs)]
    if any(status != 0 for _, _, status, _ in results):
        print("kling-batch validate did not accept the generated manifest", file=sys.stderr)
        return 1
    seconds = statistics.median(r[0] for r in results)
    peak = max(r[1] for r in results)
    cpu = statistics.median(r[3] for r in results)
    print(f"wall time: median {seconds:.2f} s (goal <= {goal_seconds} s); CPU {cpu:.2f} s")
    print(f"peak RSS:  {peak:.0f} MB (goal <= {goal_mb:.0f} MB)")
    return 0 if seconds <= goal_seconds and peak <= goal_mb else 1


if __name__ == "__main__":
    sys.exit(main())
