"""When a failed call is tried again, and how long to wait first.

The waiting and counting are stamina's (exponential backoff with jitter, bounded by attempts
and total time); this module only decides, per failure, whether a retry is allowed and whether
the server told us how long to wait:

- throttling (429): retried, waiting Retry-After when given (capped), backoff otherwise;
  bounded like everything else, so an exhausted quota (Throttling.AllocationQuota) ends as
  `ThrottledError` instead of waiting forever;
- transient (5xx, timeouts, resets, unreadable answers): retried with backoff, except for a
  create that may have reached the server (the submit rule, in `client.py`);
- everything else (account, rejected, ambiguous): never retried.

Tests switch the waiting off with stamina's documented test mode, e.g.
`with stamina.set_testing(True, attempts=100, cap=True): ...` (no backoff, Retry-After
included; `cap=True` keeps each policy's own attempt count).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

from kling_batch.api.errors import ApiError, ThrottledError, TransientError

T = TypeVar("T")
RetryDecision = Callable[[Exception], bool | float]


@dataclass(frozen=True)
class RetryNotice:
    """A failed try that is about to be retried: for the run's event log.

    `operation` is the client method ("create_task", "get_task", ...), `attempt` the try that
    failed (from 1), `retry_after` the wait the server asked for, if it did.
    """

    operation: str
    attempt: int
    error: ApiError
    retry_after: float | None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one call. Delays in seconds.

    `attempts` counts every try, the first included; `timeout` bounds the whole call, waits
    included (None: attempts alone bound it). A Retry-After longer than `max_retry_after`
    is cut to it, so a confused server cannot park the run for hours.
    """

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 1.0
    timeout: float | None = 120.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.jitter, self.max_retry_after) < 0:
            raise ValueError("RetryPolicy delays must not be negative")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("RetryPolicy.timeout must be positive or None")

    async def call(self, decide: RetryDecision, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await `attempt()` until it succeeds, `decide` refuses a retry, or the bounds run out;
        the last failure is raised as it was."""
        started = time.monotonic()
        try:
            # The first try on its own: nearly every call succeeds at once, and stamina's
            # machinery costs 20 us a call to build (`bench/micro_bench.py retry`).
            return await attempt()
        except Exception as failure:
            first = failure
        replayed = False

        async def again() -> T:
            # stamina's first try is the one that just failed, replayed without a request, so
            # that stamina decides, counts and waits for every retry exactly as it would have.
            nonlocal replayed
            if not replayed:
                replayed = True
                raise first
            return await attempt()

        timeout = self.timeout
        if timeout is not None:
            timeout -= time.monotonic() - started
            if timeout <= 0:  # the first try took all the time there was
                raise first
        caller = stamina.AsyncRetryingCaller(
            attempts=self.attempts,
            timeout=timeout,
            wait_initial=self.base_delay,
            wait_max=self.max_delay,
            wait_jitter=self.jitter,
        )
        return await caller(decide, again)

    def throttle_wait(self, exc: ThrottledError) -> bool | float:
        """Retry-After (capped) when the server gave one, else True for the usual backoff."""
        if exc.retry_after is None:
            return True
        return min(max(exc.retry_after, 0.0), self.max_retry_after)

    def for_reads(self) -> RetryDecision:
        """Queries, lists, cancels, upload policies: safe to repeat, so any transient failure
        is retried."""

        def decide(exc: Exception) -> bool | float:
            if isinstance(exc, ThrottledError):
                return self.throttle_wait(exc)
            return isinstance(exc, TransientError)

        return decide

    def for_submits(self) -> RetryDecision:
        """Creates: resent only when the previous try provably did not arrive (the submit rule).

        A refused 429 or a connection that was never made created nothing; anything that
        reached the server has already been turned into `AmbiguousSubmission`, which is not a
        `TransientError` and so falls through to "no".
        """

        def decide(exc: Exception) -> bool | float:
            if isinstance(exc, ThrottledError):
                return self.throttle_wait(exc)
            return isinstance(exc, TransientError) and not exc.request_sent

        return decide
