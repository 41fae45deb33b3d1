"""The library API (`import kling_batch`): the README's example runs as printed, and each function
does what its command does, raising errors where the command prints them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import kling_batch
from kling_batch.runner.events import Event

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

MANIFEST = """\
version: 1
name: library
defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
shots:
  - {id: cat, prompt: a cat under the moon}
  - {id: dog, prompt: a dog on the beach}
"""


def readme_block(section: str, language: str, after: str = "") -> str:
    """The first ```language block of the README's `section`, after the line `after`."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    if after:
        body = body.split(f"\n{after}\n", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", body, re.S)
    assert match, f"no {language} block in {section}"
    return match.group(1)


def test_the_readme_example_prints_what_the_readme_says(tmp_path: Path) -> None:
    example = readme_block("From Python", "python")
    printed = readme_block("From Python", "text", after="It prints:")
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")  # "from the repository root"
    # No key, no base URL, no output folder from the environment: the simulator needs none.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "OUTPUT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    done = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == printed
    assert (tmp_path / "output" / "text-to-video" / "report.html").is_file()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "library.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return path


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


def test_a_run_in_process_then_its_status_plan_and_report(manifest: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    sink = Collected()

    summary = kling_batch.run(
        manifest, output=output, simulate=True, simulated_render_seconds=0.2, sinks=[sink]
    )

    assert summary.all_done
    assert summary.states == {
        "cat": kling_batch.EntryState.DONE,
        "dog": kling_batch.EntryState.DONE,
    }
    kinds = [str(event.kind) for event in sink.events]
    assert kinds.count("submitted") == 2 and kinds[-1] == "run_finished"
    status = kling_batch.status(manifest, output=output)
    assert [(r.id, r.status) for r in status.results] == [("cat", "done"), ("dog", "done")]
    assert status.world is not None and status.world.simulated
    plan = kling_batch.plan_run(manifest, output=output, simulate=True)
    assert plan.summary() == "nothing to send"
    page = kling_batch.write_report(manifest, output=output)
    assert page == output / "library" / "report.html" and page.is_file()


def test_check_returns_every_problem_and_load_raises_them(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(MANIFEST.replace("duration: 3", "duration: 30"), encoding="utf-8")

    analysis = kling_batch.check(str(broken))

    assert not analysis.ok and analysis.manifest is None
    assert [d.code for d in analysis.diagnostics] == ["KB107"]
    with pytest.raises(kling_batch.ManifestInvalid) as raised:
        kling_batch.load(broken)
    assert raised.value.diagnostics == analysis.diagnostics


def test_a_plan_of_a_fresh_output_sends_everything_and_writes_nothing(
    manifest: Path, tmp_path: Path
) -> None:
    plan = kling_batch.plan_run(manifest, output=tmp_path / "out")

    assert [str(p.action) for p in plan.entries] == ["submit", "submit"]
    assert plan.to_json()["totals"]["renders"] == 2
    assert not (tmp_path / "out").exists()


def test_refusals_are_raised_before_anything_is_written(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out"
    with pytest.raises(kling_batch.SelectionError, match="nope"):
        kling_batch.run(manifest, output=output, simulate=True, only=["nope"])
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(kling_batch.ConfigurationError):
        kling_batch.run(manifest, output=output)
    with pytest.raises(kling_batch.NoRun):
        kling_batch.write_report(manifest, output=output)
    assert not output.exists()


def test_no_exported_name_is_shadowed_by_a_subpackage() -> None:
    # Importing kling_batch.plan sets `plan` on the package; no exported name may be one.
    import kling_batch.entry_status
    import kling_batch.library
    import kling_batch.plan
    import kling_batch.report

    for name in kling_batch.__all__:
        assert not isinstance(getattr(kling_batch, name), types.ModuleType), name


def test_checking_a_manifest_does_not_load_the_runner(manifest: Path) -> None:
    code = (
        "import sys, kling_batch\n"
        f"assert kling_batch.check({str(manifest)!r}).ok\n"
        "print(sorted(m for m in sys.modules if m.startswith(('kling_batch.runner', "
        "'kling_batch.api', 'httpx'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_the_readme_lists_every_function_of_the_api() -> None:
    text = README.read_text(encoding="utf-8").split("\n## From Python\n", 1)[1]
    listed = re.findall(r"^\| `(\w+)\(", text.split("\n## ", 1)[0], re.M)
    functions = [name for name in kling_batch.__all__ if callable(getattr(kling_batch, name))]
    assert sorted(listed) == sorted(n for n in functions if n[0].islower())
