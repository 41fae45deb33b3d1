"""Which failures the policy retries, and how long Retry-After may make it wait."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
import stamina

from kling_batch.api import (
    AccountError,
    AmbiguousSubmission,
    RequestRejected,
    RetryPolicy,
    ThrottledError,
    TransientError,
)
from kling_batch.api.errors import ApiError
from kling_batch.hashing import sha256_json

_NOW = datetime(2026, 1, 1, tzinfo=UTC)
AMBIGUOUS = AmbiguousSubmission(
    "lost", window_start=_NOW, window_end=_NOW, body_sha256=sha256_json({}), model="m"
)


@pytest.mark.parametrize(
    ("error", "reads", "submits"),
    [
        (TransientError("reset", request_sent=True), True, False),
        (TransientError("refused", request_sent=False), True, True),
        (ThrottledError("429"), True, True),
        (AccountError("arrears"), False, False),
        (RequestRejected("bad"), False, False),
        (AMBIGUOUS, False, False),
    ],
)
def test_what_is_retried(error: ApiError, reads: bool, submits: bool) -> None:
    policy = RetryPolicy()
    assert bool(policy.for_reads()(error)) is reads
    assert bool(policy.for_submits()(error)) is submits


def test_retry_after_becomes_the_wait_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert policy.throttle_wait(ThrottledError("429", retry_after=3.0)) == 3.0
    assert policy.throttle_wait(ThrottledError("429", retry_after=3600.0)) == 10.0
    # Without Retry-After: True, stamina's own backoff.
    assert policy.throttle_wait(ThrottledError("429")) is True
    # A zero wait is still a retry (a float), not a refusal (False).
    zero = policy.for_reads()(ThrottledError("429", retry_after=0.0))
    assert zero == 0.0 and zero is not False


@pytest.mark.parametrize("options", [{"attempts": 0}, {"base_delay": -1.0}, {"timeout": 0.0}])
def test_nonsense_bounds_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**options)  # type: ignore[arg-type]


class _Tries:
    """An attempt that fails with each of `failures` in turn, then answers "done"; and a
    decision that records every failure it is asked about."""

    def __init__(self, *failures: Exception, retry: bool = True) -> None:
        self.failures = list(failures)
        self.tries = 0
        self.asked: list[Exception] = []
        self.retry = retry

    async def attempt(self) -> str:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"

    def decide(self, exc: Exception) -> bool | float:
        self.asked.append(exc)
        return self.retry


def _call(policy: RetryPolicy, tries: _Tries) -> str:
    return anyio.run(policy.call, tries.decide, tries.attempt)


def test_a_call_that_succeeds_is_tried_once_and_asks_nothing() -> None:
    tries = _Tries()
    assert _call(RetryPolicy(attempts=3), tries) == "done"
    assert (tries.tries, tries.asked) == (1, [])


def test_each_failure_is_decided_once_and_retried_until_it_succeeds() -> None:
    first, second = TransientError("reset"), TransientError("reset again")
    tries = _Tries(first, second)
    assert _call(RetryPolicy(attempts=3), tries) == "done"
    assert tries.tries == 3
    assert tries.asked == [first, second]  # the first failure is not decided twice


def test_the_attempts_bound_counts_the_first_try() -> None:
    failures = [TransientError(f"reset {n}") for n in range(5)]
    tries = _Tries(*failures)
    with pytest.raises(TransientError) as raised:
        _call(RetryPolicy(attempts=3), tries)
    assert tries.tries == 3
    assert raised.value is failures[2]


def test_a_refused_retry_raises_the_first_failure_after_one_try() -> None:
    failure = AccountError("arrears")
    tries = _Tries(failure, retry=False)
    with pytest.raises(AccountError) as raised:
        _call(RetryPolicy(attempts=6), tries)
    assert raised.value is failure
    assert (tries.tries, tries.asked) == (1, [failure])


def test_a_first_try_that_used_up_the_time_bound_is_not_retried() -> None:
    class Slow(_Tries):
        async def attempt(self) -> str:
            await anyio.sleep(0.05)
            return await super().attempt()

    tries = Slow(TransientError("timeout"), TransientError("timeout"))
    with stamina.set_testing(False), pytest.raises(TransientError):
        _call(RetryPolicy(attempts=6, base_delay=0.0, jitter=0.0, timeout=0.04), tries)
    assert tries.tries == 1
