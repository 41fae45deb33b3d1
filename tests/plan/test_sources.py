"""The plan of an expanded manifest: grouped by the entry each one was made from, with subtotals;
and, since fingerprints are taken after expansion, an edit of one CSV cell or one variable
re-renders exactly the entries whose bodies change, each named with the field that changed."""

from __future__ import annotations

from decimal import Decimal

from kling_batch.cli.plan_commands import render_plan
from kling_batch.manifest.model import Manifest
from kling_batch.runner.decide import Action

from .conftest import Bench

CAMPAIGN = """
    version: 1
    name: batch
    vars: {brand: Acme}
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - id: "hero-{{sku}}"
        prompt: "{{brand}} {{title}}, the camera circles it"
        rows: products.csv
        takes: 2
      - id: "teaser-{{product}}"
        prompt: "a {{product}} on a table"
        matrix: {product: [mug, bottle]}
      - {id: plain, prompt: "a plain {{brand}} shot"}
      - {id: solo, prompt: "a shot without a variable"}
"""
PRODUCTS = "sku,title,duration\na1,a mug,3\nb2,a bottle,3\nc3,a lamp,3\n"
HEROES = [f"hero-{sku}-take{take}" for sku in ("a1", "b2", "c3") for take in (1, 2)]


def campaign(bench: Bench, products: str = PRODUCTS) -> Manifest:
    (bench.root / "products.csv").write_text(products, encoding="utf-8")
    return bench.manifest(CAMPAIGN)


def test_plan_shows_each_source_with_its_subtotal_before_its_entries(bench: Bench) -> None:
    plan = bench.plan(campaign(bench))

    lines = render_plan(plan)

    hero = lines.index("hero-{{sku}}: 3 rows x 2 takes = 6 renders, 10.80 CNY")
    assert [line.split()[0] for line in lines[hero + 1 : hero + 7]] == HEROES
    assert all(line.startswith("  hero-") for line in lines[hero + 1 : hero + 7])
    teaser = lines.index("teaser-{{product}}: 2 combinations = 2 renders, 3.60 CNY")
    assert lines[teaser + 1].split()[0] == "teaser-mug"
    # A plain entry (with or without a variable) is its own source, shown without a heading.
    assert [line.split()[0] for line in lines[teaser + 3 : teaser + 5]] == ["plain", "solo"]
    assert not any(line.startswith(("plain:", "solo:")) for line in lines)

    document = plan.to_json()
    assert [e["id"] for e in document["entries"]] == [
        *HEROES,
        "teaser-mug",
        "teaser-bottle",
        "plain",
        "solo",
    ]
    by_id = {e["id"]: e for e in document["entries"]}
    assert (by_id["hero-b2-take2"]["group"], by_id["hero-b2-take2"]["source"]) == (
        "hero-b2",
        "hero-{{sku}}",
    )
    assert (by_id["teaser-mug"]["group"], by_id["teaser-mug"]["source"]) == (
        "teaser-mug",
        "teaser-{{product}}",
    )
    assert (by_id["solo"]["group"], by_id["solo"]["source"]) == ("solo", "solo")
    assert document["totals"]["by_source"] == [
        {
            "source": "hero-{{sku}}",
            "entries": 6,
            "bodies": 3,
            "takes": 2,
            "renders": 6,
            "seconds": 18,
            "estimated_cost": 10.8,
        },
        {
            "source": "teaser-{{product}}",
            "entries": 2,
            "bodies": 2,
            "takes": 1,
            "renders": 2,
            "seconds": 6,
            "estimated_cost": 3.6,
        },
    ]


def test_a_source_partly_done_says_what_is_left_to_send(bench: Bench) -> None:
    manifest = campaign(bench)
    bench.run(manifest)
    (bench.root / "products.csv").write_text(PRODUCTS.replace("a lamp", "a desk lamp"))

    lines = render_plan(bench.plan(bench.reload(manifest)))

    assert "hero-{{sku}}: 3 rows x 2 takes = 6 entries; 2 to send, 3.60 CNY" in lines
    assert "teaser-{{product}}: 2 combinations = 2 entries; nothing to send" in lines


def changes(bench: Bench, manifest: Manifest) -> dict[str, tuple[str, ...]]:
    """The entries the plan renders again, with the fields it names; every other is skipped."""
    plan = bench.plan(bench.reload(manifest))
    again = {p.id: p.changed for p in plan.entries if p.action is Action.RERENDER}
    assert {p.action for p in plan.entries if p.id not in again} == {Action.SKIP}
    return again


def test_one_csv_cell_re_renders_exactly_the_entries_of_its_row(bench: Bench) -> None:
    manifest = campaign(bench)
    summary = bench.run(manifest)
    assert summary is not None and summary.all_done

    (bench.root / "products.csv").write_text(PRODUCTS.replace("a bottle", "a blue bottle"))
    assert changes(bench, manifest) == {
        "hero-b2-take1": ("prompt",),
        "hero-b2-take2": ("prompt",),
    }
    (bench.root / "products.csv").write_text(PRODUCTS.replace("c3,a lamp,3", "c3,a lamp,4"))
    assert changes(bench, manifest) == {
        "hero-c3-take1": ("duration",),
        "hero-c3-take2": ("duration",),
    }

    creates = bench.simulator.stats().creates
    plan = bench.plan(bench.reload(manifest))
    assert plan.cost == Decimal("4.8")  # two takes of 4 s at 0.6
    bench.run(bench.reload(manifest))
    assert bench.simulator.stats().creates == creates + 2


def test_one_variable_re_renders_exactly_the_entries_whose_bodies_use_it(bench: Bench) -> None:
    manifest = campaign(bench)
    bench.run(manifest)

    manifest.path.write_text(manifest.path.read_text().replace("brand: Acme", "brand: Apex"))

    assert changes(bench, manifest) == {
        **{entry_id: ("prompt",) for entry_id in HEROES},
        "plain": ("prompt",),
    }
