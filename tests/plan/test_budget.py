"""The budget: refuse to start past it (nothing sent), and never send a create past it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_batch.manifest.model import Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.budget import (
    Budget,
    BudgetError,
    BudgetExceeded,
    Limit,
    spending_limit,
)
from kling_batch.runner.events import SubmitAmbiguous
from kling_batch.runner.records import EntryState

from .conftest import Bench, MakeBench, StopAt, at

THREE = """
    version: 1
    name: batch
    budget: {budget}
    defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
    shots:
      - {{id: one, prompt: the first scene}}
      - {{id: two, prompt: the second scene}}
      - {{id: three, prompt: the third scene}}
"""  # 3 renders of 1.80 CNY: 5.40 CNY


def limit(amount: str) -> Limit:
    return Limit(Decimal(amount), "CNY", "test")


def test_a_reservation_past_the_limit_is_refused_and_remembered() -> None:
    budget = Budget(limit("5"))

    assert budget.reserve("a", Decimal("2"))
    assert budget.reserve("b", Decimal("3"))  # exactly at the limit is within it
    assert not budget.reserve("c", Decimal("0.01"))
    assert budget.committed == Decimal("5")
    assert budget.refused == ["c"]
    assert "5.01 CNY" in budget.refusal(Decimal("0.01"))


def test_an_entry_holds_one_reservation_however_often_it_is_sent() -> None:
    budget = Budget(limit("2"))

    assert budget.reserve("a", Decimal("2"))
    assert budget.reserve("a", Decimal("2"))
    assert budget.committed == Decimal("2")


def test_a_released_reservation_makes_room_again() -> None:
    budget = Budget(limit("2"))
    budget.reserve("a", Decimal("2"))
    assert not budget.reserve("b", Decimal("1"))

    budget.release("a")

    assert budget.reserve("b", Decimal("1"))
    assert budget.committed == Decimal("1")


def test_no_limit_reserves_everything() -> None:
    budget = Budget(None)
    assert all(budget.reserve(str(n), Decimal("1000")) for n in range(10))
    assert budget.refused == []


def _manifest(budget: float | None) -> Manifest:
    return Manifest(Path("/work/spring.yaml"), "spring", (), budget)


def test_max_cost_overrides_the_manifest_budget() -> None:
    chosen = spending_limit(_manifest(10), Decimal("25"), "CNY")
    assert chosen == Limit(Decimal("25"), "CNY", "--max-cost")
    from_manifest = spending_limit(_manifest(10.5), None, "CNY")
    assert from_manifest == Limit(Decimal("10.5"), "CNY", "budget: in spring.yaml")
    assert spending_limit(_manifest(None), None, "CNY") is None


def test_a_budget_in_yuan_cannot_limit_prices_in_another_currency() -> None:
    with pytest.raises(BudgetError, match="--max-cost"):
        spending_limit(_manifest(10), None, "USD")
    assert spending_limit(_manifest(10), Decimal("3"), "USD") == Limit(
        Decimal("3"), "USD", "--max-cost"
    )


def test_a_run_whose_plan_passes_the_budget_sends_nothing(bench: Bench) -> None:
    manifest = bench.manifest(THREE.format(budget=5))

    with pytest.raises(BudgetExceeded) as refused:
        bench.run(manifest)

    assert refused.value.cost == Decimal("5.4")
    assert refused.value.renders == 3
    assert "5.40 CNY" in str(refused.value) and "budget: in batch.yaml" in str(refused.value)
    assert sum(bench.simulator.stats().requests.values()) == 0


def test_max_cost_lets_the_same_run_go(bench: Bench) -> None:
    manifest = bench.manifest(THREE.format(budget=5))

    summary = bench.run(manifest, max_cost=Decimal("5.40"))

    assert summary is not None and summary.all_done
    assert bench.simulator.stats().creates == 3


def test_the_budget_counts_only_what_this_run_sends(bench: Bench) -> None:
    manifest = bench.manifest(THREE.format(budget=2))
    assert bench.run(manifest, only=("one",)) is not None  # 1.80: fits
    with pytest.raises(BudgetExceeded):
        bench.run(manifest)  # two more: 3.60

    summary = bench.run(manifest, only=("two",))

    assert summary is not None and summary.all_done
    assert bench.simulator.stats().creates == 2


def test_prices_from_another_table_change_the_verdict(bench: Bench, tmp_path: Path) -> None:
    cheap = tmp_path / "cheap.json"
    cheap.write_text(
        json.dumps(
            {
                "currency": "CNY",
                "source": "a test's own table",
                "as_of": "2026-01-01",
                "per_second": {
                    "std": {"silent": 0.1, "audio": 0.2},
                    "pro": {"silent": 1, "audio": 2},
                },
            }
        )
    )
    manifest = bench.manifest(THREE.format(budget=1))

    summary = bench.run(manifest, prices=PriceTable.load(cheap))  # 0.90 in all

    assert summary is not None and summary.all_done


def test_a_create_that_would_pass_the_budget_is_never_sent(make_bench: MakeBench) -> None:
    """The plan cannot count a lost create that never arrived: it is sent again only if the
    budget still has room for it."""
    bench: Bench = make_bench()
    manifest = bench.manifest(
        """
        version: 1
        name: batch
        defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
        shots:
          - {id: flaky, prompt: "a harbour at dawn [sim:error]"}
        """
    )
    # The create is answered 5xx and creates nothing; the run stops before settling it.
    bench.run(manifest, stop=StopAt(at(SubmitAmbiguous)))
    assert bench.simulator.stats().creates == 0
    plan = bench.plan(manifest, limit=limit("1"))
    assert plan.cost == 0 and not plan.over_budget  # so the run starts

    summary = bench.run(manifest, max_cost=Decimal("1"))

    assert summary is not None
    assert summary.over_budget == ("flaky",)
    assert not summary.all_done
    assert bench.simulator.stats().creates == 0
    events = (bench.layout(manifest).events).read_text().splitlines()
    refusals = [json.loads(e) for e in events if "BudgetExceeded" in e]
    assert refusals and refusals[-1]["event"] == "entry_skipped"
    assert "over the limit of 1.00 CNY (--max-cost)" in refusals[-1]["message"]
    # Left as it stood: a later run with room settles it and sends it once.
    with bench.store(manifest) as store:
        record = store.get("flaky")
        assert record is not None and record.state is EntryState.SUBMITTING
    done = bench.run(manifest, max_cost=Decimal("2"))
    assert done is not None and done.all_done
    assert bench.simulator.stats().creates == 1


def test_concurrent_entries_share_the_budget_without_passing_it(bench: Bench) -> None:
    shots = "\n".join(f"      - {{id: s{n}, prompt: 'scene {n}'}}" for n in range(8))
    manifest = bench.manifest(
        f"""
        version: 1
        name: batch
        defaults: {{mode: std, duration: 3, aspect_ratio: "16:9"}}
        shots:
{shots}
        """.replace("\n        ", "\n    ")
    )

    summary = bench.run(manifest, max_cost=Decimal("14.4"), concurrency=8)  # exactly 8 x 1.80

    assert summary is not None and summary.all_done
    assert bench.simulator.stats().creates == 8
