"""The runner's time, injected: the real clock for runs, a manual one for tests.

Every wall-clock read (`now`), elapsed-time read (`monotonic`) and wait (`sleep`) of the runner
goes through a `Clock`, so that a test moves time on instead of sleeping, and the transitions
(runner/transitions.py) receive the time as an argument rather than reading it.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds, as written in the state store."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring spans; never goes back."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class ManualClock:
    """Time that moves only when told: `sleep` waits until `advance` has moved it far enough."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._start = start
        self._moved = anyio.Event()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
        moved, self._moved = self._moved, anyio.Event()
        moved.set()

    async def sleep(self, seconds: float) -> None:
        until = self._now + seconds
        while self._now < until:
            await self._moved.wait()
