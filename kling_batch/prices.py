"""What a render costs: one price table, shipped as data, that a user can replace.

The shipped table (prices.json beside this module) names its source and date. A user points
`$KLING_BATCH_PRICES` (or a command's `--prices` option) at a file of the same shape to override it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from kling_batch.manifest.model import Entry

PRICES_ENV = "KLING_BATCH_PRICES"
API_DEFAULT_MODE = "pro"
API_DEFAULT_DURATION = 5


class PriceTableError(ValueError):
    """A prices file that cannot be read or lacks a price."""


@dataclass(frozen=True)
class Estimate:
    seconds: int
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PriceTable:
    currency: str
    source: str
    as_of: str
    per_second: dict[tuple[str, bool], Decimal]  # (mode, audio) -> price of one second

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """The table at `path`, else at $KLING_BATCH_PRICES, else the shipped one."""
        chosen = path or (Path(os.environ[PRICES_ENV]) if os.environ.get(PRICES_ENV) else None)
        try:
            if chosen is None:
                text = resources.files("kling_batch").joinpath("prices.json").read_text("utf-8")
            else:
                text = chosen.read_text("utf-8")
            return cls.from_json(json.loads(text))
        except KeyError as missing:
            raise PriceTableError(
                f"prices file {chosen or 'shipped'}: no {missing} key; it needs `currency` and "
                '`per_second: {"std": {"silent": N, "audio": N}, "pro": {...}}`'
            ) from None
        except (OSError, ValueError, TypeError) as problem:
            raise PriceTableError(f"prices file {chosen or 'shipped'}: {problem}") from None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PriceTable:
        table: dict[tuple[str, bool], Decimal] = {}
        for mode, prices in data["per_second"].items():
            table[(mode, False)] = Decimal(str(prices["silent"]))
            table[(mode, True)] = Decimal(str(prices["audio"]))
        return cls(
            currency=str(data["currency"]),
            source=str(data.get("source", "")),
            as_of=str(data.get("as_of", "")),
            per_second=table,
        )

    def price(self, *, mode: str, audio: bool, seconds: int) -> Estimate:
        try:
            rate = self.per_second[(mode, audio)]
        except KeyError:
            raise PriceTableError(f"no price for mode {mode!r} with audio={audio}") from None
        return Estimate(seconds, rate * seconds, self.currency)

    def estimate(self, entry: Entry) -> Estimate:
        """The price `run` expects to pay for an entry: its duration, at its mode and audio."""
        return self.price(
            mode=entry.mode or API_DEFAULT_MODE,
            audio=bool(entry.audio),
            seconds=entry.duration or API_DEFAULT_DURATION,
        )
