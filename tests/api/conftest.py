"""Fixtures for the client's tests: clients wired to a simulator on loopback (`start_simulator`,
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina

from kling_batch.api import ApiKey, DashScopeClient, Pacing, RetryPolicy
from tests.conftest import StartSimulator, fast_pacing

__all__ = ["StartSimulator"]  # start_simulator itself is in tests/conftest.py

KEY = "sk-test-0123456789abcdef"
STANDARD = "kling/kling-v3-video-generation"

MakeClient = Callable[..., DashScopeClient]
TextBody = Callable[..., dict[str, Any]]


@pytest.fixture
def no_retry_waits() -> Iterator[None]:
    """stamina's documented test mode: no backoff waits (Retry-After included); `cap=True`
    keeps each policy's own attempt count."""
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@pytest.fixture
def text_body() -> TextBody:
    """Makes a valid text-to-video create body; distinct prompts give distinct bodies."""

    def body(prompt: str, model: str = STANDARD, **parameters: Any) -> dict[str, Any]:
        return {
            "model": model,
            "input": {"prompt": prompt},
            "parameters": {"mode": "std", "aspect_ratio": "16:9", "duration": 5, **parameters},
        }

    return body


@pytest.fixture
def make_client() -> MakeClient:
    """Makes a client for a simulator: the test key, fast pacing, 4 attempts, 5 s timeouts."""
    return _make_client


def _make_client(
    base_url: str,
    *,
    key: str = KEY,
    pacing: Pacing | None = None,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout | float | None = None,
    **options: Any,
) -> DashScopeClient:
    return DashScopeClient(
        base_url,
        ApiKey(key),
        pacing=pacing if pacing is not None else fast_pacing(),
        retry=retry if retry is not None else RetryPolicy(attempts=4),
        timeout=timeout if timeout is not None else httpx.Timeout(5.0),
        **options,
    )
