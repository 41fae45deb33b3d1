"""Process-wide pacing of DashScope requests, so that a healthy run meets no 429 at all.

DashScope counts per account and per kind of request (rate-limits page): Kling submissions
5/s; task queries 20/s; list and cancel 20/s each; upload policies 100/s per model. It also has
a burst guard ("Request rate increased too quickly"), so requests are spread evenly, one slot
every 1/rate seconds, rather than let through in bursts up to the rate.

One `Pacing` object is shared by every client of the process (pass the same one in); each kind
of request has its own gate because the service budgets them separately, so a reconcile that
lists tasks does not slow the polls down.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import anyio


class RequestKind(StrEnum):
    SUBMIT = "submit"
    QUERY = "query"
    LIST = "list"
    CANCEL = "cancel"
    UPLOAD_POLICY = "upload_policy"


class _Gate:
    """Hands out evenly spaced time slots; a caller sleeps until its slot comes."""

    __slots__ = ("_interval", "_next_slot")

    def __init__(self, per_second: float) -> None:
        if not per_second > 0:
            raise ValueError(f"a rate must be positive, got {per_second!r}")
        self._interval = 1.0 / per_second
        self._next_slot = 0.0

    async def wait(self) -> None:
        # Reserve the slot before sleeping: no await between reading and writing `_next_slot`,
        # so concurrent callers on one event loop get distinct slots without a lock. A caller
        # canceled while asleep leaves its slot unused, which only errs on the slow side.
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._interval
        if slot > now:
            await anyio.sleep(slot - now)


class Pacing:
    """Request rates per second for each kind of DashScope request (defaults: the documented
    account limits). List and cancel default to the query rate."""

    def __init__(
        self,
        submits_per_second: float = 5.0,
        queries_per_second: float = 20.0,
        *,
        lists_per_second: float | None = None,
        cancels_per_second: float | None = None,
        upload_policies_per_second: float = 100.0,
    ) -> None:
        self.rates: Mapping[RequestKind, float] = MappingProxyType(
            {
                RequestKind.SUBMIT: submits_per_second,
                RequestKind.QUERY: queries_per_second,
                RequestKind.LIST: lists_per_second or queries_per_second,
                RequestKind.CANCEL: cancels_per_second or queries_per_second,
                RequestKind.UPLOAD_POLICY: upload_policies_per_second,
            }
        )
        self._gates = {kind: _Gate(rate) for kind, rate in self.rates.items()}

    def __repr__(self) -> str:
        rates = ", ".join(f"{kind.value}={rate:g}/s" for kind, rate in self.rates.items())
        return f"Pacing({rates})"

    async def wait(self, kind: RequestKind) -> None:
        """Return when a request of `kind` may be sent."""
        await self._gates[kind].wait()
