"""Every way a DashScope call can end badly, as one tree that callers catch by meaning.

The runner decides what to do from the class alone, never from message text:

    ApiError                 anything DashScope (or the road to it) refused or could not answer
      AccountError           the account or key is unusable: stop the whole run
      RequestRejected        this request is wrong for the service: its entry fails, no retry
        CancelRefused        the task is no longer PENDING, so it cannot be canceled
      ThrottledError         still 429 after the bounded waits
      TransientError         5xx, timeout, reset, unreadable answer, after the bounded retries
      AmbiguousSubmission    a create that may have reached the server: reconcile, never resend
    ConfigurationError       the client was set up wrongly; nothing was sent
      MissingApiKey          $DASHSCOPE_API_KEY is unset or unusable
      InsecureUrlError       plain http:// to a host that is not loopback

No message, attribute or repr here ever holds the API key: the client builds these from the
service's answer (scrubbed of the key before decoding) and from its own words.
"""

from __future__ import annotations

from datetime import datetime

# Documented codes that mean the account itself cannot go on: bad key, no access, unpaid bill,
# a model the account (or region) does not have. Sub-codes such as "AccessDenied.Unpurchased"
# belong to their family. The code decides, whatever the status: the service answers Arrearage
# with a 400, the status of a plain bad request.
ACCOUNT_CODES = ("InvalidApiKey", "AccessDenied", "Arrearage", "ModelNotFound")


class ApiError(Exception):
    """Base of every failure of a DashScope call; carries what the service said, if anything."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        head = f"{self.code}: {self.message}" if self.code else self.message
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request_id {self.request_id}")
        return f"{head} ({', '.join(details)})" if details else head


# --- stop the run ---------------------------------------------------------------------------


class AccountError(ApiError):
    """InvalidApiKey, AccessDenied*, Arrearage, ModelNotFound: no entry can succeed; stop."""


# --- this entry fails -----------------------------------------------------------------------


class RequestRejected(ApiError):
    """InvalidParameter*, DataInspection* or another 4xx: the entry fails and is not retried."""


class CancelRefused(RequestRejected):
    """Cancel of a task that is not PENDING (DashScope's UnsupportedOperation)."""


# --- waited and retried, still failing ------------------------------------------------------


class ThrottledError(ApiError):
    """429 Throttling* still answered after the bounded waits; `retry_after` as last told."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id, http_status=http_status)
        self.retry_after = retry_after


class TransientError(ApiError):
    """5xx, timeout, reset or an unreadable answer, still so after the bounded retries.

    `request_sent` is False only when the request provably never reached the server (connect
    failure, pool timeout): only then is a create safe to send again. A create that fails with
    `request_sent=True` surfaces as `AmbiguousSubmission` instead, never as this.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id, http_status=http_status)
        self.request_sent = request_sent


# --- the submit rule ------------------------------------------------------------------------


class AmbiguousSubmission(ApiError):
    """A create that may have reached the server and so may have made (and billed) a task.

    It is never resent by the client. The runner reconciles it with the task list: tasks of
    `model` created between `window_start` and `window_end` (aware UTC, taken just before the
    request was written and just after it failed) that it does not already know. `body_sha256`
    is `hashing.sha256_json` of the body, so the runner can tie the attempt to its entry.
    """

    def __init__(
        self,
        message: str,
        *,
        window_start: datetime,
        window_end: datetime,
        body_sha256: str,
        model: str,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id, http_status=http_status)
        self.window_start = window_start
        self.window_end = window_end
        self.body_sha256 = body_sha256
        self.model = model


# --- set-up errors: raised before anything is sent ------------------------------------------


class ConfigurationError(ValueError):
    """The client cannot be set up as asked; nothing was sent."""


class MissingApiKey(ConfigurationError):
    """$DASHSCOPE_API_KEY is unset, empty or not a usable header value."""


class InsecureUrlError(ConfigurationError):
    """A URL that would carry the key or a result over plain http to a non-loopback host."""


# --- mapping an answer onto the tree --------------------------------------------------------


def is_account_code(code: str | None) -> bool:
    return code is not None and any(
        code == family or code.startswith(family + ".") for family in ACCOUNT_CODES
    )


def is_throttling_code(code: str | None) -> bool:
    """DashScope's throttling family: Throttling, Throttling.RateQuota, .AllocationQuota, ..."""
    return code is not None and code.startswith("Throttling")


def error_for_answer(
    http_status: int,
    code: str | None,
    message: str | None,
    request_id: str | None,
    *,
    retry_after: float | None = None,
) -> ApiError:
    """The one mapping from a non-2xx answer (status and decoded `code`) to the tree.

    An account code makes an `AccountError` whatever the status (a 400 Arrearage, even a 429 or
    a 5xx), and a Throttling code a `ThrottledError`. Otherwise the status decides, so an answer
    from a proxy that never reached DashScope (an HTML 502, a bare 401) still lands on the right
    branch; a 401 or 403 stays account-level whatever its code: a permission code this table
    does not list concerns the key, not the entry.
    """
    text = message or f"HTTP {http_status} without a readable error body"
    if is_account_code(code):
        return AccountError(text, code=code, request_id=request_id, http_status=http_status)
    if http_status == 429 or is_throttling_code(code):
        return ThrottledError(
            text,
            code=code,
            request_id=request_id,
            http_status=http_status,
            retry_after=retry_after,
        )
    kind: type[ApiError]
    if http_status in (401, 403):
        kind = AccountError
    elif 400 <= http_status < 500:
        kind = RequestRejected
    else:
        # 5xx, and 1xx/3xx which DashScope never documents: the server may have acted on it.
        kind = TransientError
    return kind(text, code=code, request_id=request_id, http_status=http_status)


def error_for_upload_answer(
    http_status: int, code: str | None, message: str | None, request_id: str | None
) -> ApiError:
    """The mapping for the OSS upload host, whose 4xx answers mean other things than DashScope's.

    Nothing is stored on any refusal, and each retry starts from a fresh policy, so what a new
    policy can cure (an expired or mismatched signature: 403; 408; 429; 5xx) is transient. Only
    a form OSS cannot take (400, 413, ...) rejects the file, and the entry with it.
    """
    text = f"upload refused: {message}" if message else f"upload refused with HTTP {http_status}"
    if http_status >= 500 or http_status in (403, 408, 429):
        return TransientError(text, code=code, request_id=request_id, http_status=http_status)
    return RequestRejected(text, code=code, request_id=request_id, http_status=http_status)
