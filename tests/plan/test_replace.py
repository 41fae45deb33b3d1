"""`--replace ID`: an unchanged, settled entry is rendered again, and `plan --replace` says what
that costs; an entry still on its way is left to end. Against state written by real runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kling_batch.runner.artifacts import SUPERSEDED_DIR
from kling_batch.runner.decide import Action
from kling_batch.runner.events import Submitted
from kling_batch.runner.options import SelectionError, replaced_ids
from kling_batch.runner.records import EntryState
from tests.conftest import read_events

from .conftest import Bench, MakeBench, StopAt, at

THREE = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: hero-a, prompt: a hero shot}
      - {id: hero-b, prompt: another hero shot}
      - {id: bad, prompt: "a shot the service refuses [sim:moderation]"}
"""


def test_replace_renders_one_done_entry_again_and_plan_says_what_it_costs(bench: Bench) -> None:
    manifest = bench.manifest(THREE)
    bench.run(manifest)
    with bench.store(manifest) as store:
        old = store.get("hero-a")
    assert old is not None and old.state is EntryState.DONE

    plan = bench.plan(manifest, replace={"hero-a"})

    planned = {p.id: p for p in plan.entries}
    assert planned["hero-a"].action is Action.REPLACE and planned["hero-a"].pays
    assert planned["hero-a"].detail.startswith("done: rendered again (--replace)")
    assert planned["hero-b"].action is Action.SKIP
    assert plan.cost == Decimal("1.8") and len(plan.to_send) == 1

    creates = bench.simulator.stats().creates
    summary = bench.run(manifest, replace=("hero-a",))

    assert summary is not None and summary.states["hero-a"] is EntryState.DONE
    assert bench.simulator.stats().creates == creates + 1
    with bench.store(manifest) as store:
        new = store.get("hero-a")
    assert new is not None and new.task_id != old.task_id
    aside = list((bench.layout(manifest).folder / SUPERSEDED_DIR).glob("hero-a.*"))
    assert len(aside) == 1 and (aside[0] / "video.mp4").exists()
    lines = read_events(bench.layout(manifest).events)
    changed = [e for e in lines if e["event"] == "entry_changed"]
    assert [(e["entry"], e["reason"], e["previous_task"]) for e in changed] == [
        ("hero-a", "replaced", old.task_id)
    ]
    # Without --replace, the same command skips it again.
    assert {p.action for p in bench.plan(manifest).entries if p.id != "bad"} == {Action.SKIP}


def test_replace_takes_globs_and_failed_entries_without_retry_failed(bench: Bench) -> None:
    manifest = bench.manifest(THREE)
    bench.run(manifest)

    named = replaced_ids(manifest, list(manifest.entries), ["hero-*", "bad"])
    plan = bench.plan(manifest, replace=named)

    assert {p.id: p.action for p in plan.entries} == {
        "hero-a": Action.REPLACE,
        "hero-b": Action.REPLACE,
        "bad": Action.REPLACE,
    }
    assert plan.entries[2].detail.startswith("failed (DataInspectionFailed): rendered again")


def test_a_pattern_that_names_no_entry_is_refused_like_only(bench: Bench) -> None:
    manifest = bench.manifest(THREE)
    with pytest.raises(SelectionError, match="--replace villain-\\* matches no entry"):
        replaced_ids(manifest, list(manifest.entries), ["hero-a", "villain-*"])
    with pytest.raises(SelectionError, match="--only selects"):
        replaced_ids(manifest, [manifest.entry("hero-a")], ["hero-b"])
    with pytest.raises(SelectionError):
        bench.run(manifest, replace=("villain-*",))
    assert bench.simulator.stats().creates == 0


def test_an_entry_in_flight_is_not_replaced_and_plan_says_so(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(THREE)
    bench.run(manifest, stop=StopAt(at(Submitted, entry_id="hero-a")))

    plan = bench.plan(manifest, replace={"hero-a"})

    (hero,) = [p for p in plan.entries if p.id == "hero-a"]
    assert hero.action is Action.POLL and not hero.pays
    assert hero.note is not None
    assert hero.note.startswith("--replace: not replaced, it is in_flight")
    assert hero.result.task_id is not None and hero.result.task_id in hero.note
