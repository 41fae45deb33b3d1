"""The spending limit of a run: refuse to start past it, and never send a create past it.

A limit comes from `run --max-cost AMOUNT` or, failing that, the manifest's `budget:`. It caps
what one run may spend on new renders, at the price table's estimates. Two guards apply it:
- before anything is sent, the run's plan must fit (`BudgetExceeded` otherwise: nothing sent);
- while running, each entry reserves its estimate before its create leaves, and one that would
  pass the limit is not sent. The plan counts every entry it knows will be sent, so this second
  guard matters for what the plan cannot know: a lost submission that turns out never to have
  arrived and is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kling_batch.manifest.model import Manifest

# The schema gives `budget:` in yuan, the currency of DashScope's price list.
BUDGET_CURRENCY = "CNY"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


@dataclass(frozen=True)
class Limit:
    amount: Decimal
    currency: str
    source: str  # where it was set, for messages: "--max-cost", "budget: in spring.yaml"

    def __str__(self) -> str:
        return f"{money(self.amount, self.currency)} ({self.source})"


class BudgetError(ValueError):
    """A limit that cannot be compared with the prices (another currency)."""


class BudgetExceeded(Exception):
    """The run's plan costs more than its limit: refused before anything was sent."""

    def __init__(self, cost: Decimal, renders: int, limit: Limit) -> None:
        self.cost = cost
        self.renders = renders
        self.limit = limit
        super().__init__(
            f"the plan sends {renders} render{'s' if renders != 1 else ''} for an estimated "
            f"{money(cost, limit.currency)}, over the limit of {limit}; nothing was sent. "
            "Review it with `kling-batch plan`, narrow the run with --only, "
            "or set a higher limit with --max-cost"
        )


def spending_limit(manifest: Manifest, max_cost: Decimal | None, currency: str) -> Limit | None:
    """The limit of a run: `--max-cost` (in the prices' currency) over the manifest's budget."""
    if max_cost is not None:
        return Limit(max_cost, currency, "--max-cost")
    if manifest.budget is None:
        return None
    if currency != BUDGET_CURRENCY:
        raise BudgetError(
            f"{manifest.path}: budget: is in {BUDGET_CURRENCY}, but the price table is in "
            f"{currency}; give the limit in {currency} with --max-cost"
        )
    return Limit(Decimal(str(manifest.budget)), currency, f"budget: in {manifest.path.name}")


class Budget:
    """Reservations against a limit (None: no limit), one per entry, made before its create.

    Not thread-safe, and needs not be: the runner's tasks share one event loop, and a
    reservation is taken and checked without awaiting in between.
    """

    def __init__(self, limit: Limit | None) -> None:
        self.limit = limit
        self._held: dict[str, Decimal] = {}
        self.refused: list[str] = []  # entries not sent because they would pass the limit

    @property
    def committed(self) -> Decimal:
        return sum(self._held.values(), Decimal(0))

    def reserve(self, entry_id: str, amount: Decimal) -> bool:
        """Hold `amount` for the entry's render; False (and nothing held) past the limit.

        An entry holds one reservation however many times its create is sent: a create is sent
        again only after the service has shown the earlier one never arrived.
        """
        if entry_id in self._held:
            return True
        if self.limit is not None and self.committed + amount > self.limit.amount:
            if entry_id not in self.refused:
                self.refused.append(entry_id)
            return False
        self._held[entry_id] = amount
        return True

    def release(self, entry_id: str) -> None:
        """Give back a reservation whose create provably created (and billed) nothing."""
        self._held.pop(entry_id, None)

    def refusal(self, amount: Decimal) -> str:
        """Why an entry of `amount` was not sent."""
        assert self.limit is not None
        currency = self.limit.currency
        return (
            f"not sent: its estimated {money(amount, currency)} would bring this run to "
            f"{money(self.committed + amount, currency)}, over the limit of {self.limit}"
        )
