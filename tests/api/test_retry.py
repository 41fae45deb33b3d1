"""Which failures the policy retries, and how long Retry-After may make it wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
