"""What the report says, before any HTML: outcomes per entry, totals, and run timing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_batch.delivery.picks import picks_path
from kling_batch.prices import PriceTable
from kling_batch.report import gather, run_timing
from kling_batch.runner.artifacts import read_json_lines
from kling_batch.runner.results import write_results

from .conftest import Output


def write_events(path: Path, *events: dict[str, object], torn_tail: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(e) + "\n" for e in events)
    if torn_tail:
        text += '{"event": "poll", "ts": 99'  # a crash mid-append
    path.write_text(text)


def test_every_entry_has_an_outcome_in_manifest_order(finished_output: Output) -> None:
    facts = gather(finished_output.layout, finished_output.manifest, finished_output.store)

    assert [o.entry.id for o in facts.entries] == [e.id for e in finished_output.manifest.entries]
    statuses = {o.entry.id: o.result.status for o in facts.entries}
    assert statuses == {
        "cat-moonlight": "done",
        "hero-ref": "done",
        "hostile": "failed",
        "launch-film": "done",
        "not-yet": "pending",
        "gone-video": "done",
    }


def test_failed_entry_carries_code_message_and_request_id(finished_output: Output) -> None:
    facts = gather(finished_output.layout, finished_output.manifest, finished_output.store)
    failed = next(o for o in facts.entries if o.entry.id == "hostile")

    assert failed.result.error_code == "DataInspectionFailed"
    assert failed.result.error_message == "<b>moderated</b> & blocked"
    assert failed.result.request_id == "req-hostile"
    assert failed.video_href is None
    assert [a.name for a in failed.artifacts] == ["request.json"]


def test_player_only_for_a_verified_video_still_on_disk(finished_output: Output) -> None:
    facts = gather(finished_output.layout, finished_output.manifest, finished_output.store)
    by_id = {o.entry.id: o for o in facts.entries}

    assert by_id["cat-moonlight"].video_href == "cat-moonlight/video.mp4"
    assert by_id["gone-video"].video_href is None
    assert by_id["not-yet"].video_href is None
    names = [a.name for a in by_id["cat-moonlight"].artifacts]
    assert names == ["video.mp4", "request.json", "task.json"]


def test_a_video_on_disk_that_the_store_never_verified_gets_no_player(output: Output) -> None:
    output.fail("cat-moonlight", "InternalError.Algo", "render failed")
    stray = output.layout.entry_dir("cat-moonlight") / "video.mp4"
    stray.write_bytes(b"not verified")

    facts = gather(output.layout, output.manifest, output.store)
    outcome = next(o for o in facts.entries if o.entry.id == "cat-moonlight")

    assert outcome.video_href is None
    assert "video.mp4" in [a.name for a in outcome.artifacts]  # still linked, as a file


def test_totals_agree_with_results_jsonl(finished_output: Output) -> None:
    prices = PriceTable.load()
    facts = gather(
        finished_output.layout, finished_output.manifest, finished_output.store, prices=prices
    )
    write_results(finished_output.layout, finished_output.manifest, finished_output.store, prices)
    lines = read_json_lines(finished_output.layout.results)

    assert [o.result.as_json() for o in facts.entries] == lines
    assert facts.billed_seconds == 5 + 5 + 8 + 5 == sum(r.get("billed_seconds") or 0 for r in lines)
    assert float(facts.actual_cost) == pytest.approx(sum(r.get("cost") or 0 for r in lines))
    assert float(facts.estimated_cost) == pytest.approx(sum(r["estimated_cost"] for r in lines))
    # std 0.6/s silent; hero-ref is pro with audio, 1.2/s.
    assert facts.actual_cost == Decimal("0.6") * 5 + Decimal("1.2") * 5 + Decimal("0.6") * 13
    assert facts.status_counts == {"done": 4, "failed": 1, "pending": 1}


def test_wall_time_sums_runs_and_counts_a_killed_run_to_its_last_event(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    write_events(
        events,
        {"event": "run_started", "ts": 100.0},
        {"event": "retry", "ts": 101.0, "code": "Throttling.RateQuota"},
        {"event": "run_finished", "ts": 110.0, "elapsed": 9.5},
        {"event": "run_started", "ts": 200.0},  # killed: no run_finished
        {"event": "retry", "ts": 203.0, "code": "InternalError"},
        {"event": "poll", "ts": 207.0, "entry": "a"},
        {"event": "run_started", "ts": 300.0},
        {"event": "run_finished", "ts": 301.0, "elapsed": 1.0},
        torn_tail=True,
    )

    timing = run_timing(events)

    assert timing.runs == 3
    assert timing.wall_seconds == pytest.approx(9.5 + 7.0 + 1.0)
    assert (timing.retries, timing.throttled) == (2, 1)


def test_no_events_means_no_wall_time(tmp_path: Path) -> None:
    timing = run_timing(tmp_path / "missing.jsonl")

    assert timing.runs == 0
    assert timing.wall_seconds is None


def test_wall_time_argument_overrides_the_log(output: Output) -> None:
    write_events(output.layout.events, {"event": "run_started", "ts": 1.0})

    facts = gather(output.layout, output.manifest, output.store, wall_time=42.0)

    assert facts.timing.wall_seconds == 42.0
    assert facts.timing.runs == 1


def test_render_time_from_the_services_times_else_the_store(output: Output) -> None:
    output.succeed("cat-moonlight", 5, times=("2026-12-01 09:30:00.000", "2026-12-01 09:32:00.250"))
    output.succeed("hero-ref", 5)  # task.json without times: the store's submit and end
    facts = gather(output.layout, output.manifest, output.store)
    by_id = {o.entry.id: o for o in facts.entries}

    assert by_id["cat-moonlight"].render_seconds == pytest.approx(120.25)
    seconds = by_id["hero-ref"].render_seconds
    assert seconds is not None and 0 <= seconds < 60
    assert by_id["not-yet"].render_seconds is None


def test_groups_and_picks_come_from_delivery(finished_output: Output) -> None:
    picks_path(finished_output.manifest).write_text(
        "version: 1\npicks:\n  cat-moonlight: cat-moonlight\n"
    )
    facts = gather(finished_output.layout, finished_output.manifest, finished_output.store)

    assert list(facts.groups) == [e.id for e in finished_output.manifest.entries]
    assert [o.entry.id for o in facts.entries if o.picked] == ["cat-moonlight"]
    assert facts.picks_problem is None and facts.picks_file == "campaign.picks.yaml"
