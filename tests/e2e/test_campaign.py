"""Spec §7, authoring at campaign scale, end to end: the real CLI in subprocesses against the
simulator on loopback.

The example manifest of §7, with a shots.csv whose last row names its entry (a column named
like a field sets it, `id` too): first as it was before `solo-a` was renamed (no `moved:`),
then exactly as §7 writes it. It validates, plans by source with subtotals, renders, and
renders again exactly what §7 says: nothing for the rename, one entry for one CSV cell,
nothing for its `expand` output, one create for `--replace`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import FAST, count_events
from tests.manifest.test_expand_spec import SPEC_EXAMPLE  # §7 as written, one copy

from .conftest import Sim, Workspace

BEFORE_THE_RENAME = SPEC_EXAMPLE.split("moved:")[0]
SHOTS_CSV = (
    "sku,title,id\n"
    "mug-01,a mug on a shelf,\n"
    "bottle 02,a bottle by the sea,\n"
    "solo,a solo shot by the window,{solo}\n"
)
ENTRIES = 21  # 9 combinations x 2 takes, and 3 rows


class Campaign:
    """The manifest and its CSV in a workspace, and the CLI run on them."""

    def __init__(self, workspace: Workspace, sim: Sim) -> None:
        self.workspace = workspace
        self.sim = sim
        self.path = workspace.root / "launch.yaml"

    def write(self, manifest: str, solo: str) -> None:
        self.path.write_text(textwrap.dedent(manifest).lstrip("\n"), encoding="utf-8")
        (self.workspace.root / "shots.csv").write_text(SHOTS_CSV.format(solo=solo))

    def cli(self, *args: str, manifest: Path | None = None) -> str:
        command, rest = args[0], args[1:]
        target = str(manifest or self.path)
        extra = ["--output", str(self.workspace.output)] if command in ("plan", "run") else []
        polls = ["--poll-interval", "0.1"] if command == "run" else []
        done = self.workspace.run(self.sim, command, target, *extra, *polls, *rest)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def plan(self, *args: str, manifest: Path | None = None) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.cli("plan", "--json", *args, manifest=manifest))
        return document

    def validate(self, manifest: Path | None = None) -> str:
        done = self.workspace.run(None, "validate", str(manifest or self.path))
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    @property
    def creates(self) -> int:
        return self.sim.simulator.stats().creates

    @property
    def folder(self) -> Path:
        return self.workspace.folder("launch")


def test_the_spec_example_validates_plans_renders_and_renders_again_as_it_says(
    start_simulator: Any, workspace: Workspace
) -> None:
    campaign = Campaign(workspace, start_simulator(**{**FAST, "render_seconds": 0.2}))

    # Before the rename: validate, plan by source, render.
    campaign.write(BEFORE_THE_RENAME, solo="solo-a")
    assert f"valid, {ENTRIES} entries" in campaign.validate()
    text = campaign.cli("plan").splitlines()
    heading = text.index(
        "{{product}}-{{aspect_ratio}}: 9 combinations x 2 takes = 18 renders, 54.00 CNY"
    )
    assert [line.split()[:2] for line in text[heading + 1 : heading + 3]] == [
        ["mug-16-9-take1", "submit"],
        ["mug-16-9-take2", "submit"],
    ]
    assert "row-{{sku}}: 3 rows = 3 renders, 9.00 CNY" in text
    listed = campaign.plan()["entries"]
    assert len(listed) == ENTRIES
    assert {(e["id"], e["group"], e["source"]) for e in listed} >= {
        ("vase-9-16-take2", "vase-9-16", "{{product}}-{{aspect_ratio}}"),
        ("row-bottle-02", "row-bottle-02", "row-{{sku}}"),
    }

    campaign.cli("run")
    assert campaign.creates == ENTRIES
    campaign.cli("run")  # the same command again: everything is done
    assert campaign.creates == ENTRIES

    # §7 as written: solo-a is now solo-b, under `moved:`. Nothing is sent.
    video = (campaign.folder / "solo-a" / "video.mp4").read_bytes()
    campaign.write(SPEC_EXAMPLE, solo="solo-b")
    campaign.validate()
    moved = {e["id"]: e for e in campaign.plan()["entries"]}["solo-b"]
    assert (moved["moved_from"], moved["action"], moved["sends"]) == ("solo-a", "skip", False)
    campaign.cli("run")
    assert campaign.creates == ENTRIES
    assert (campaign.folder / "solo-b" / "video.mp4").read_bytes() == video
    assert not (campaign.folder / "solo-a").exists()
    assert count_events(campaign.folder / "events.jsonl", "entry_moved", moved_from="solo-a") == 1

    # One CSV cell: exactly its entry is rendered again, and plan names the field.
    (campaign.workspace.root / "shots.csv").write_text(
        SHOTS_CSV.format(solo="solo-b").replace("a mug on a shelf", "a red mug on a shelf")
    )
    again = [e for e in campaign.plan()["entries"] if e["sends"]]
    assert [(e["id"], e["action"], e["changed"]) for e in again] == [
        ("row-mug-01", "re-render", ["prompt"])
    ]
    campaign.cli("run")
    assert campaign.creates == ENTRIES + 1

    # `expand`'s output validates and, run on the same output, sends nothing.
    expanded = campaign.workspace.root / "launch.expanded.yaml"
    expanded.write_text(campaign.cli("expand"), encoding="utf-8")
    assert "vars:" not in expanded.read_text() and "rows:" not in expanded.read_text()
    assert f"valid, {ENTRIES} entries" in campaign.validate(expanded)
    plain = campaign.plan(manifest=expanded)  # the same ids, the same bodies
    assert plain["totals"]["renders"] == 0 and len(plain["entries"]) == ENTRIES
    campaign.cli("run", manifest=expanded)
    assert campaign.creates == ENTRIES + 1

    # `--replace ID`: plan says what it costs, and run sends exactly one create.
    replaced = campaign.plan("--replace", "row-bottle-02")
    assert replaced["totals"]["renders"] == 1 and replaced["totals"]["estimated_cost"] == 3.0
    campaign.cli("run", "--replace", "row-bottle-02")
    assert campaign.creates == ENTRIES + 2
    assert campaign.plan()["totals"]["renders"] == 0


def test_a_move_that_does_not_fit_the_output_is_exit_2_with_its_line(
    start_simulator: Any, workspace: Workspace
) -> None:
    # A fresh output never rendered solo-a: `moved:` names nothing it holds.
    sim: Sim = start_simulator(**FAST)
    campaign = Campaign(workspace, sim)
    campaign.write(SPEC_EXAMPLE, solo="solo-b")

    for command in ("plan", "run"):
        done = workspace.run(sim, command, str(campaign.path), "--output", str(workspace.output))

        assert done.returncode == 2, (command, done.stderr)
        assert sum(sim.simulator.stats().requests.values()) == 0
        line = SPEC_EXAMPLE.lstrip("\n").splitlines().index("  - {from: solo-a, to: solo-b}") + 1
        assert f"launch.yaml:{line}:5: error: solo-b: moved[0]: nothing in this output" in (
            done.stderr
        )
        assert "remove this move" in done.stderr
