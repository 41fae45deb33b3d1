"""Every command's `--json` prints the shape its help documents (and the README repeats): the
keys on stdout are the keys named there, and stdout holds nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kling_batch.cli import main

MANIFEST = """\
version: 1
name: shapes
defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
shots:
  - {id: cat, prompt: a cat under the moon}
  - {id: dog, prompt: a dog on the beach}
"""


def documented_keys(command: str) -> set[str]:
    """The keys the first {...} of `command`'s --json help names."""
    found = main.get_command(click.Context(main), command)
    assert found is not None
    shape = next(p for p in found.params if isinstance(p, click.Option) and "--json" in p.opts)
    match = re.search(r"\{([^}]*)\}", shape.help or "")
    assert match, shape.help
    return {key.strip() for key in match.group(1).split(",")}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A manifest and the output of a simulated run of it."""
    folder = tmp_path_factory.mktemp("json")
    manifest = folder / "shapes.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    output = folder / "out"
    lines = invoke(
        "run", str(manifest), "--simulate", "--simulate-render-seconds", "0.2",
        "--output", str(output), "--json",
    )  # fmt: skip
    events = [json.loads(line) for line in lines.splitlines()]
    assert events[-1]["event"] == "run_finished"
    return manifest, output


def test_plan_prints_one_object_with_the_documented_keys(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    plan: dict[str, Any] = json.loads(
        invoke("plan", str(manifest), "--output", str(output), "--json")
    )
    assert set(plan) == documented_keys("plan")
    assert [entry["action"] for entry in plan["entries"]] == ["skip", "skip"]


def test_status_prints_one_documented_object_per_entry(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    rows = [json.loads(line) for line in invoke(
        "status", str(manifest), "--output", str(output), "--json"
    ).splitlines()]  # fmt: skip
    assert [row["id"] for row in rows] == ["cat", "dog"]
    for row in rows:
        assert set(row) - {"warnings", "simulated"} == documented_keys("status")
        assert (row["status"], row["simulated"]) == ("done", True)


def test_status_only_selects_entries(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    args = ["status", str(manifest), "--output", str(output), "--only", "d*", "--json"]
    assert [json.loads(line)["id"] for line in invoke(*args).splitlines()] == ["dog"]


def test_report_prints_the_path_of_the_page(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    written = json.loads(invoke("report", str(manifest), "--output", str(output), "--json"))
    assert set(written) == documented_keys("report")
    assert written["report"] == str(output / "shapes" / "report.html")


def test_audit_prints_an_array(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    args = ["audit", str(manifest), "--output", str(output), "--simulate", "--json"]
    # A fresh in-process simulator knows no task, so no task is unclaimed.
    assert json.loads(invoke(*args)) == []


def test_cancel_with_nothing_in_flight_prints_nothing(ran: tuple[Path, Path]) -> None:
    manifest, output = ran
    assert invoke("cancel", str(manifest), "--output", str(output), "--json") == ""


def test_validate_prints_the_documented_keys(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(MANIFEST.replace("duration: 3", "duration: 30"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(broken), "--json"])
    assert result.exit_code == 2
    [problem] = json.loads(result.stdout)
    assert set(problem) == documented_keys("validate")


def test_schema_with_json_is_the_schema() -> None:
    assert invoke("schema", "--json") == invoke("schema")
    assert json.loads(invoke("schema"))["$schema"].startswith("https://json-schema.org/")
