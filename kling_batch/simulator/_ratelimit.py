"""Token buckets for the account's request rates (real time: it is the client's pace)."""

from __future__ import annotations

import math
import time


class TokenBucket:
    def __init__(self, rate: float, burst_seconds: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate * burst_seconds)
        self._tokens = self._capacity
        self._stamp = time.monotonic()

    def take(self) -> float:
        """Spend one token: 0.0 if there was one, else the seconds until there will be."""
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate


def retry_after(wait: float) -> str:
    """Retry-After takes whole seconds; round up so that honouring it always suffices."""
    return str(max(1, math.ceil(wait)))
