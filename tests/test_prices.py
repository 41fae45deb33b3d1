from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_batch.prices import PRICES_ENV, PriceTable, PriceTableError


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
