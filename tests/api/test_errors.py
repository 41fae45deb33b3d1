"""The one mapping from an error answer to the tree: every documented code, and the fallbacks."""

from __future__ import annotations

import httpx
import pytest

from kling_batch.api import ApiKey, DashScopeClient, Pacing, RetryPolicy
from kling_batch.api.errors import (
    AccountError,
    ApiError,
    RequestRejected,
    ThrottledError,
    TransientError,
    error_for_answer,
    is_account_code,
    is_throttling_code,
)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "InvalidApiKey", AccountError),
        (403, "AccessDenied", AccountError),
        (403, "AccessDenied.Unpurchased", AccountError),
        (400, "Arrearage", AccountError),  # the service's own status for arrears
        (403, "Arrearage", AccountError),
        (404, "ModelNotFound", AccountError),
        (400, "InvalidParameter", RequestRejected),
        (400, "InvalidParameter.DataInspection", RequestRejected),
        (400, "DataInspectionFailed", RequestRejected),
        (400, "UnsupportedOperation", RequestRejected),
        (429, "Throttling", ThrottledError),
        (429, "Throttling.RateQuota", ThrottledError),
        (429, "Throttling.AllocationQuota", ThrottledError),
        (500, "InternalError", TransientError),
        (500, "InternalServerError", TransientError),
        (503, "ServiceUnavailable", TransientError),
        (504, None, TransientError),
        # Without a readable code the status decides.
        (401, None, AccountError),
        (403, None, AccountError),
        (429, None, ThrottledError),
        (502, None, TransientError),
        (404, None, RequestRejected),
        (302, None, TransientError),
    ],
)
def test_each_answer_lands_on_its_branch(
    status: int, code: str | None, expected: type[ApiError]
) -> None:
    error = error_for_answer(status, code, "said the server", "req-1")
    assert type(error) is expected
    assert error.http_status == status
    assert error.code == code
    assert error.request_id == "req-1"


def test_a_throttling_code_wins_over_an_odd_status() -> None:
    assert isinstance(
        error_for_answer(400, "Throttling.RateQuota", "slow down", None), ThrottledError
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "Arrearage"),
        (400, "Arrearage.Overdue"),
        (400, "InvalidApiKey"),
        (400, "AccessDenied.Unpurchased"),
        (400, "ModelNotFound"),
        (404, "Arrearage"),
        (429, "Arrearage"),
        (429, "InvalidApiKey"),
        (500, "ModelNotFound"),
        (503, "AccessDenied"),
    ],
)
def test_an_account_code_is_account_level_whatever_the_status(status: int, code: str) -> None:
    # Decided by code: a 400 Arrearage must stop the run, not fail one entry and go on to the
    # next (each refused for the same reason), nor be waited on like a 429 or retried like a 5xx.
    error = error_for_answer(status, code, "account not in good standing", "req-2")
    assert type(error) is AccountError
    assert (error.http_status, error.code) == (status, code)


def test_a_non_account_code_at_400_is_the_entry_s_problem() -> None:
    assert type(error_for_answer(400, "ArrearageNotice", "x", None)) is RequestRejected
    assert type(error_for_answer(400, "InvalidParameter", "x", None)) is RequestRejected


@pytest.mark.anyio
async def test_a_create_answered_400_arrearage_stops_at_once() -> None:
    answers: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answers.append(request)
        body = {"code": "Arrearage", "message": "Access denied, arrears.", "request_id": "r-4"}
        return httpx.Response(400, json=body)

    client = DashScopeClient(
        "https://dashscope.example.test/api/v1",
        ApiKey("sk-unit-arrears"),
        transport=httpx.MockTransport(handler),
        pacing=Pacing(1000.0, 1000.0),
        retry=RetryPolicy(attempts=3),
    )
    async with client:
        with pytest.raises(AccountError) as caught:
            await client.create_task({"model": "kling/kling-v3-video-generation"})
    assert (caught.value.code, caught.value.http_status, caught.value.request_id) == (
        "Arrearage",
        400,
        "r-4",
    )
    assert len(answers) == 1  # neither retried nor taken for a lost submission


def test_retry_after_travels_with_the_throttle() -> None:
    error = error_for_answer(429, "Throttling", "slow down", None, retry_after=3.0)
    assert isinstance(error, ThrottledError)
    assert error.retry_after == 3.0


def test_account_families_match_sub_codes_but_not_lookalikes() -> None:
    assert is_account_code("Arrearage")
    assert is_account_code("AccessDenied.Unpurchased")
    assert not is_account_code("AccessDeniedish")
    assert not is_account_code(None)


@pytest.mark.parametrize(
    ("code", "throttling"),
    [
        ("Throttling", True),
        ("Throttling.RateQuota", True),
        ("Throttling.AllocationQuota", True),
        ("InternalError", False),
        (None, False),
    ],
)
def test_the_throttling_family(code: str | None, throttling: bool) -> None:
    assert is_throttling_code(code) is throttling


def test_str_names_code_status_and_request_id() -> None:
    error = error_for_answer(400, "InvalidParameter", "duration must be 3..15", "abc")
    assert str(error) == "InvalidParameter: duration must be 3..15 (HTTP 400, request_id abc)"


def test_a_bare_status_still_explains_itself() -> None:
    error = error_for_answer(502, None, None, None)
    assert "HTTP 502" in str(error)
