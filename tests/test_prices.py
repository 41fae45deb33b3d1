from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kling_batch.manifest.model import (
    OMNI_MODEL,
    STANDARD_MODEL,
    TURBO_MODEL,
    Entry,
    EntryKind,
    Mode,
)
from kling_batch.models import MODELS_ENV
from kling_batch.prices import PRICES_ENV, PriceTable, PriceTableError
from kling_batch.runner.results import billed_cost


def test_the_shipped_table_names_its_source_and_date() -> None:
    table = PriceTable.load()
    assert table.currency == "CNY" and table.source and table.as_of
    assert table.price(mode="std", audio=False, seconds=5).amount == Decimal("3.0")
    assert table.price(mode="pro", audio=True, seconds=10).amount == Decimal("12.0")


def test_the_environment_variable_overrides_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "currency": "USD",
                "per_second": {
                    "std": {"silent": 0.1, "audio": 0.2},
                    "pro": {"silent": 0.3, "audio": 0.4},
                },
            }
        )
    )
    monkeypatch.setenv(PRICES_ENV, str(path))
    table = PriceTable.load()
    assert table.currency == "USD"
    assert table.price(mode="pro", audio=True, seconds=10).amount == Decimal("4.0")


def test_a_malformed_table_says_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"nonsense": true}')
    with pytest.raises(PriceTableError, match="per_second"):
        PriceTable.load(path)


# --- models with their own prices (the models table) --------------------------------------------


@pytest.fixture
def shipped_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.delenv(PRICES_ENV, raising=False)


def entry(model: str, **fields: Any) -> Entry:
    return Entry(id="e", kind=EntryKind.SHOT, model=model, prompt="x", **fields)


@pytest.mark.usefixtures("shipped_models")
@pytest.mark.parametrize(
    ("model", "fields", "amount", "why"),
    [
        (TURBO_MODEL, {"mode": Mode.STD, "duration": 10}, "8.0", "turbo, std: 0.8/s"),
        (TURBO_MODEL, {"duration": 10}, "10.0", "turbo, pro by default: 1.0/s"),
        (TURBO_MODEL, {"mode": Mode.STD, "duration": 10, "audio": False}, "8.0", "sound anyway"),
        (STANDARD_MODEL, {"mode": Mode.STD, "duration": 10}, "6.0", "the price table: 0.6/s"),
        (OMNI_MODEL, {"mode": Mode.STD, "duration": 10, "audio": True}, "9.0", "0.9/s"),
    ],
)
def test_a_model_with_its_own_prices_is_estimated_at_them(
    model: str, fields: dict[str, Any], amount: str, why: str
) -> None:
    estimate = PriceTable.load().estimate(entry(model, **fields))
    assert (estimate.amount, estimate.currency) == (Decimal(amount), "CNY"), why


@pytest.mark.usefixtures("shipped_models")
def test_a_billed_render_is_priced_at_its_model() -> None:
    prices = PriceTable.load()
    turbo = entry(TURBO_MODEL, mode=Mode.STD)
    assert billed_cost(turbo, None, prices, 10) == Decimal("8.0")
    assert billed_cost(entry(STANDARD_MODEL, mode=Mode.STD), None, prices, 10) == Decimal("6.0")


def test_the_models_file_can_reprice_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PRICES_ENV, raising=False)
    path = tmp_path / "models.json"
    own = {"currency": "CNY", "per_second": {"std": {"audio": 0.5}, "pro": {"audio": 0.7}}}
    path.write_text(json.dumps({"models": {"turbo": {"prices": own}}}))
    monkeypatch.setenv(MODELS_ENV, str(path))
    estimate = PriceTable.load().estimate(entry(TURBO_MODEL, mode=Mode.STD, duration=10))
    assert estimate.amount == Decimal("5.0")


def test_a_model_priced_in_another_currency_than_the_table_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MODELS_ENV, raising=False)
    path = tmp_path / "prices.json"
    usd = {"silent": 0.1, "audio": 0.2}
    path.write_text(json.dumps({"currency": "USD", "per_second": {"std": usd, "pro": usd}}))
    table = PriceTable.load(path)
    assert table.estimate(entry(STANDARD_MODEL, duration=5)).amount == Decimal("0.5")
    with pytest.raises(PriceTableError, match="turbo in CNY, the price table is in USD"):
        table.estimate(entry(TURBO_MODEL))
