"""Options about money: the price table (`run`, `plan`, `status`, `audit`, `report`) and the
spending limit (`run`, `plan`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.prices import PRICES_ENV, PriceTable, PriceTableError


def _amount(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    """A positive amount of money, kept exact (Decimal): 25, 12.5, 0.60."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount, such as 25 or 12.50") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter(f"{value!r} must be a positive amount")
    return amount


prices_option = click.option(
    "--prices",
    "prices_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help=f"Use this price table (JSON, shaped as the shipped prices.json) instead of the shipped "
    f"one. Default ${PRICES_ENV}, else the shipped table.",
)
max_cost_option = click.option(
    "--max-cost",
    callback=_amount,
    default=None,
    metavar="AMOUNT",
    help="Spend at most AMOUNT (in the price table's currency) on new renders: a run whose plan "
    "costs more is refused, and no create is sent past it. Overrides the manifest's budget:.",
)


def load_prices(path: Path | None) -> PriceTable:
    try:
        return PriceTable.load(path)
    except PriceTableError as error:
        raise InvalidInput(str(error)) from None
