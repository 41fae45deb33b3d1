"""Every action of the plan, each against state written by a real run on the simulator."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import httpx
import pytest

from kling_batch.api.types import TaskStatus
from kling_batch.plan import CostGroup, Plan, build_plan
from kling_batch.prices import PriceTable
from kling_batch.runner.budget import spending_limit
from kling_batch.runner.decide import Action
from kling_batch.runner.events import Poll, SubmitAmbiguous, Submitted
from kling_batch.runner.records import EntryState
from kling_batch.runner.results import entry_result
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Faults, LostAnswer

from .conftest import LOCAL_FLOWER, Bench, MakeBench, StopAt, at, make_image

TWO = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: calm, prompt: a calm sea}
      - {id: storm, prompt: a storm at night, audio: true}
"""


def actions(plan: Plan) -> dict[str, Action]:
    return {planned.id: planned.action for planned in plan.entries}


def test_a_new_manifest_plans_one_submit_per_entry_and_prices_it(bench: Bench) -> None:
    manifest = bench.manifest(TWO)

    plan = bench.plan(manifest)

    assert actions(plan) == {"calm": Action.SUBMIT, "storm": Action.SUBMIT}
    # std is 0.6 per second silent and 0.9 with audio in the shipped table
    assert plan.cost == Decimal("1.8") + Decimal("2.7")
    assert plan.seconds == 6
    assert plan.groups == (
        CostGroup("standard", "std", False, renders=1, seconds=3, cost=Decimal("1.8")),
        CostGroup("standard", "std", True, renders=1, seconds=3, cost=Decimal("2.7")),
    )
    assert plan.currency == "CNY"
    assert all(planned.detail == "new" for planned in plan.entries)
    assert not bench.layout(manifest).folder.exists(), "planning wrote something"
    assert sum(bench.simulator.stats().requests.values()) == 0


def test_done_entries_are_skipped_and_show_what_was_billed(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    summary = bench.run(manifest)
    assert summary is not None and summary.all_done

    plan = bench.plan(manifest)

    assert actions(plan) == {"calm": Action.SKIP, "storm": Action.SKIP}
    assert plan.to_send == ()
    assert plan.cost == 0
    assert plan.summary() == "nothing to send"
    assert [p.result.billed_seconds for p in plan.entries] == [3, 3]
    assert plan.billed_cost == Decimal("4.5")


def test_a_changed_entry_is_rendered_again_and_the_plan_names_its_fields(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    bench.run(manifest)
    text = manifest.path.read_text()
    text = text.replace("a calm sea", "a calmer sea")
    text = text.replace("night, audio: true", "night, duration: 4")
    manifest.path.write_text(text)
    manifest = bench.reload(manifest)

    plan = bench.plan(manifest)

    calm, storm = plan.entries
    assert (calm.action, calm.changed) == (Action.RERENDER, ("prompt",))
    assert (storm.action, storm.changed) == (Action.RERENDER, ("duration", "audio"))
    assert storm.detail == "changed: duration, audio"
    assert plan.cost == Decimal("1.8") + Decimal("2.4")
    # what was billed is priced as it was rendered: with audio, before the change
    assert storm.result.cost == Decimal("2.7")
    # and the run does exactly what the plan said
    before = bench.simulator.stats().creates
    assert bench.run(manifest) is not None
    assert bench.simulator.stats().creates == before + len(plan.to_send)
    assert set(actions(bench.plan(manifest)).values()) == {Action.SKIP}


def test_status_and_plan_price_a_billed_render_alike_after_an_edit(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    bench.run(manifest)
    # storm was rendered with audio (0.9/s); the manifest then drops the audio.
    manifest.path.write_text(manifest.path.read_text().replace(", audio: true", ""))
    manifest = bench.reload(manifest)

    plan = bench.plan(manifest)
    with bench.store(manifest) as store:
        status = entry_result(manifest.entry("storm"), store.get("storm"), plan.prices)

    (storm,) = [p for p in plan.entries if p.id == "storm"]
    assert storm.result.cost == Decimal("2.7")
    assert status.cost == Decimal("2.7")  # the render as it was billed, not as the entry reads now
    assert status.as_json()["cost"] == 2.7


def test_a_local_file_whose_content_changed_is_named(bench: Bench) -> None:
    make_image(bench.root / "start.png")
    manifest = bench.manifest(LOCAL_FLOWER)
    bench.run(manifest)
    assert actions(bench.plan(manifest)) == {"flower": Action.SKIP}
    make_image(bench.root / "start.png", colour=(10, 200, 90))

    (flower,) = bench.plan(manifest).entries

    assert flower.action is Action.RERENDER
    assert flower.changed == ("media[1] (file content)",)


def test_missing_or_damaged_files_plan_a_download_that_costs_nothing(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    bench.run(manifest)
    folder = bench.layout(manifest).folder
    (folder / "calm" / "video.mp4").unlink()
    damaged = folder / "storm" / "video.mp4"
    damaged.write_bytes(damaged.read_bytes()[:-4] + b"oops")

    plan = bench.plan(manifest)

    assert actions(plan) == {"calm": Action.DOWNLOAD, "storm": Action.DOWNLOAD}
    assert plan.cost == 0
    assert "downloads them again" in plan.entries[0].detail


def test_a_failed_entry_is_left_alone_unless_retry_failed_is_given(bench: Bench) -> None:
    manifest = bench.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: pro, duration: 5, aspect_ratio: "16:9"}
        shots:
          - {id: good, prompt: a calm sea}
          - {id: bad, prompt: "a storm [sim:moderation]"}
        """
    )
    bench.run(manifest)

    left = bench.plan(manifest)
    retried = bench.plan(manifest, retry_failed=True)

    assert actions(left) == {"good": Action.SKIP, "bad": Action.LEAVE_FAILED}
    assert left.entries[1].result.error_code == "DataInspectionFailed"
    assert "--retry-failed" in left.entries[1].detail
    assert left.cost == 0
    assert actions(retried)["bad"] is Action.RETRY
    assert retried.cost == Decimal("4.0")  # pro, silent, 5 s at 0.8


def test_an_entry_in_flight_is_polled_and_not_paid_for_again(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(TWO)
    bench.run(manifest, stop=StopAt(at(Submitted), count=2))

    plan = bench.plan(manifest)

    assert actions(plan) == {"calm": Action.POLL, "storm": Action.POLL}
    assert plan.cost == 0
    calm = plan.entries[0]
    assert calm.result.task_id and calm.result.task_status is TaskStatus.PENDING
    assert calm.result.task_id in calm.detail


def test_changing_an_entry_in_flight_warns_that_its_task_still_bills(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(TWO)
    bench.run(manifest, stop=StopAt(at(Submitted), count=2))
    manifest.path.write_text(manifest.path.read_text().replace("a calm sea", "a rough sea"))

    calm = bench.plan(bench.reload(manifest)).entries[0]

    assert calm.action is Action.RERENDER
    assert calm.note is not None and "still in flight" in calm.note
    assert calm.result.task_id is not None and calm.result.task_id in calm.note


def test_a_rendered_entry_not_yet_downloaded_plans_a_download(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    bench.run(manifest, stop=StopAt(at(Poll, status=TaskStatus.SUCCEEDED)))

    plan = bench.plan(manifest)

    rendered = [p for p in plan.entries if p.result.state is EntryState.SUCCEEDED]
    assert rendered, actions(plan)
    assert all(p.action is Action.DOWNLOAD for p in rendered)
    assert rendered[0].detail == "rendered: downloads the video"


def test_a_lost_create_is_settled_first_and_counted_as_a_possible_cost(
    make_bench: MakeBench,
) -> None:
    bench: Bench = make_bench(faults=Faults(lost_answer=LostAnswer.SERVER_ERROR))
    manifest = bench.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: lost, prompt: "a lighthouse [sim:lost]"}
        """
    )
    bench.run(manifest, stop=StopAt(at(SubmitAmbiguous)))

    plan = bench.plan(manifest)

    (lost,) = plan.entries
    assert lost.action is Action.SETTLE and lost.may_pay and not lost.pays
    assert plan.cost == 0
    assert plan.may_cost == Decimal("1.8")
    # the run then finds the task the lost answer created, and pays nothing more
    summary = bench.run(manifest)
    assert summary is not None and summary.all_done
    assert bench.simulator.stats().creates == 1


def test_an_unsettled_submission_is_looked_up_again_or_sent_with_resubmit_unknown(
    make_bench: MakeBench,
) -> None:
    # Every create's answer is lost (the task is made, a 500 comes back).
    bench: Bench = make_bench(faults=Faults(lost_create=1.0, lost_answer=LostAnswer.SERVER_ERROR))
    # Another tool on the same account rendered the same body a moment before: when our
    # create's answer is lost, the task list shows two look-alikes and cannot say which is ours.
    other_tool = httpx.post(
        bench.base_url + "/services/aigc/video-generation/video-synthesis",
        headers={"Authorization": "Bearer sk-other-tool", "X-DashScope-Async": "enable"},
        json={
            "model": "kling/kling-v3-video-generation",
            "input": {"prompt": "a twin"},
            # The very same body: not even its render (usage) tells it from ours.
            "parameters": {"mode": "std", "aspect_ratio": "16:9", "duration": 3},
        },
    )
    assert other_tool.status_code >= 500  # its answer is lost too; the task exists
    manifest = bench.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, aspect_ratio: "16:9"}
        shots:
          - {id: twin-a, prompt: "a twin", duration: 3}
        """
    )
    bench.run(manifest)

    left = bench.plan(manifest)
    resent = bench.plan(manifest, resubmit_unknown=True)

    assert actions(left) == {"twin-a": Action.SETTLE}
    assert left.cost == 0
    assert "looked up in the task list again" in left.entries[0].detail
    assert set(actions(resent).values()) == {Action.RESUBMIT}
    assert resent.cost == Decimal("1.8")


def test_only_the_selected_entries_are_planned(bench: Bench) -> None:
    manifest = bench.manifest(TWO)

    plan = bench.plan(manifest, entries=[manifest.entry("storm")])

    assert actions(plan) == {"storm": Action.SUBMIT}
    assert plan.cost == Decimal("2.7")


def test_the_plan_as_json_carries_every_number_a_script_needs(bench: Bench) -> None:
    manifest = bench.manifest(TWO.replace("name: batch", "name: batch\n    budget: 4"))
    bench.run(manifest, only=("calm",))
    limit = spending_limit(manifest, None, "CNY")
    data = json.loads(json.dumps(bench.plan(manifest, limit=limit).to_json()))

    assert data["name"] == "batch" and data["currency"] == "CNY"
    assert data["prices"]["as_of"]
    by_id = {row["id"]: row for row in data["entries"]}
    assert by_id["calm"]["action"] == "skip" and by_id["calm"]["billed_seconds"] == 3
    expected = {
        "action": "submit",
        "sends": True,
        "estimated_seconds": 3,
        "estimated_cost": 2.7,
        "model": "standard",
        "mode": "std",
        "audio": True,
        "warnings": [],
    }
    assert {key: by_id["storm"][key] for key in expected} == expected
    assert data["totals"]["renders"] == 1
    assert data["totals"]["estimated_cost"] == pytest.approx(2.7)
    assert data["totals"]["billed_cost"] == pytest.approx(1.8)
    assert data["totals"]["by_group"] == [
        {
            "model": "standard",
            "mode": "std",
            "audio": True,
            "renders": 1,
            "seconds": 3,
            "estimated_cost": 2.7,
        }
    ]
    assert data["budget"] == {"limit": 4.0, "source": "budget: in batch.yaml", "exceeded": False}
    assert data["actions"] == {"skip": 1, "submit": 1}


def test_records_kept_before_fingerprinted_bodies_compare_with_the_body_sent(
    bench: Bench,
) -> None:
    make_image(bench.root / "start.png")
    manifest = bench.manifest(LOCAL_FLOWER)
    bench.run(manifest)
    # What the migration leaves in rows written before the column existed.
    with sqlite3.connect(bench.layout(manifest).state) as db:
        db.execute("UPDATE entries SET fingerprint_body = NULL")
    make_image(bench.root / "start.png", colour=(0, 0, 250))

    (only_file,) = bench.plan(manifest).entries
    manifest.path.write_text(manifest.path.read_text().replace("a flower", "a rose"))
    (with_prompt,) = bench.plan(bench.reload(manifest)).entries

    assert only_file.changed == ("media (a local file's content)",)
    assert with_prompt.changed == ("prompt",)


def test_a_state_store_from_before_the_migration_is_planned_read_only(bench: Bench) -> None:
    manifest = bench.manifest(TWO)
    bench.run(manifest)
    # A store of the first schema: `plan` opens it read-only, so it is never migrated.
    with sqlite3.connect(bench.layout(manifest).state) as db:
        db.execute("ALTER TABLE entries DROP COLUMN fingerprint_body")
        db.execute("PRAGMA user_version=1")
    store = StateStore(bench.layout(manifest).state, readonly=True)
    try:
        plan = build_plan(manifest, bench.layout(manifest), store, PriceTable.load())
    finally:
        store.close()

    assert actions(plan) == {"calm": Action.SKIP, "storm": Action.SKIP}
