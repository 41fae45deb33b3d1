"""Options about money, shared by `run`, `plan` and `status`: the price table and the limit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from kling_batch.cli.errors import InvalidInput
from kling_batch.manifest.model import Manifest
from kling_batch.prices import PRICES_ENV, PriceTable, PriceTableError
from kling_batch.runner.budget import BudgetError, Limit, spending_limit


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
    help=f"Price table (JSON, the shape of the shipped prices.json) [default: ${PRICES_ENV}, "
    "else the shipped table].",
)
max_cost_option = click.option(
    "--max-cost",
    callback=_amount,
    default=None,
    metavar="AMOUNT",
    help="Spend at most AMOUNT (in the price table's currency) on new renders in this run; "
    "overrides the manifest's budget:.",
)


def load_prices(path: Path | None) -> PriceTable:
    try:
        return PriceTable.load(path)
    except PriceTableError as error:
        raise InvalidInput(str(error)) from None


def limit_or_exit(manifest: Manifest, max_cost: Decimal | None, prices: PriceTable) -> Limit | None:
    try:
        return spending_limit(manifest, max_cost, prices.currency)
    except BudgetError as error:
        raise InvalidInput(str(error)) from None
