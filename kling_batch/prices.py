"""What a render costs: one price table, shipped as data, that a user can replace.

The shipped table (prices.json beside this module) names its source and date. A user points
`$KLING_BATCH_PRICES` (or a command's `--prices` option) at a file of the same shape to override it.
A model whose prices differ (the turbo model) carries its own in the models table
(`kling_batch.models`), in the same shape; they win for that model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kling_batch import models
from kling_batch.manifest.model import Entry
from kling_batch.tables import read_table, user_file

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
    # What `price` answered, by the models table in force (its id, kept alive beside it) and
    # the question: 10,000 entries ask it twice each, and share a handful of answers.
    _answers: dict[int, tuple[models.ModelTable, dict[tuple[Any, ...], Estimate]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """The table at `path`, else at $KLING_BATCH_PRICES, else the shipped one."""
        chosen = user_file(PRICES_ENV, path)
        try:
            return cls.from_json(read_table(chosen, "prices.json"))
        except KeyError as missing:
            raise PriceTableError(
                f"prices file {chosen or 'shipped'}: no {missing} key; it needs `currency` and "
                '`per_second: {"std": {"silent": N, "audio": N}, "pro": {...}}`'
            ) from None
        except (OSError, ValueError, TypeError, ArithmeticError) as problem:
            raise PriceTableError(f"prices file {chosen or 'shipped'}: {problem}") from None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, audio_only: bool = False) -> PriceTable:
        """A table from its JSON; `audio_only`: for a model that always renders sound, whose
        modes need no silent price."""
        table: dict[tuple[str, bool], Decimal] = {}
        for mode, prices in data["per_second"].items():
            if not audio_only:
                table[(mode, False)] = Decimal(str(prices["silent"]))
            table[(mode, True)] = Decimal(str(prices["audio"]))
        return cls(
            currency=str(data["currency"]),
            source=str(data.get("source", "")),
            as_of=str(data.get("as_of", "")),
            per_second=table,
        )

    def price(self, *, mode: str, audio: bool, seconds: int, model: str | None = None) -> Estimate:
        """`seconds` at `mode` and `audio`; at `model`'s own prices when it has some, and with
        sound when it always renders sound."""
        in_force = models.current()
        kept = self._answers.get(id(in_force))
        if kept is None or kept[0] is not in_force:
            kept = self._answers[id(in_force)] = (in_force, {})
        question = (mode, audio, seconds, type(seconds), model)  # 5.0 is not 5: it raises
        answer = kept[1].get(question)
        if answer is None:
            answer = kept[1][question] = self._price(in_force, mode, audio, seconds, model)
        return answer

    def _price(
        self, in_force: models.ModelTable, mode: str, audio: bool, seconds: int, model: str | None
    ) -> Estimate:
        table = self
        spec = in_force.find(model) if model is not None else None
        if spec is not None:
            audio = spec.renders_audio(audio)
            table = self._own_table(spec)
        try:
            rate = table.per_second[(mode, audio)]
        except KeyError:
            raise PriceTableError(f"no price for mode {mode!r} with audio={audio}") from None
        return Estimate(seconds, rate * seconds, table.currency)

    def estimate(self, entry: Entry) -> Estimate:
        """The price `run` expects to pay for an entry: its duration, at its mode and audio."""
        return self.price(
            mode=entry.mode or API_DEFAULT_MODE,
            audio=bool(entry.audio),
            seconds=entry.duration or API_DEFAULT_DURATION,
            model=entry.model,
        )

    def _own_table(self, spec: models.ModelSpec) -> PriceTable:
        if spec.prices is None:
            return self
        try:
            table = PriceTable.from_json(spec.prices, audio_only=spec.audio_always)
        except (KeyError, ValueError, TypeError, ArithmeticError) as problem:
            raise PriceTableError(f"models table: the prices of {spec.label}: {problem}") from None
        if table.currency != self.currency:
            # Totals add the entries up: one table in yuan and another in dollars cannot mix.
            raise PriceTableError(
                f"the models table prices {spec.label} in {table.currency}, the price table is in "
                f"{self.currency}: give {spec.label} prices in {self.currency} in "
                f"${models.MODELS_ENV}"
            )
        return table
