"""The API key and the URLs it may travel to.

The key is read from `$DASHSCOPE_API_KEY` only and lives in one `ApiKey` object whose repr and
str are masked; only the client's per-request auth ever asks it for the value. Plain http is
refused for any host that is not loopback, so neither the key nor a result crosses a network
in clear text (the simulator on 127.0.0.1 is the one exception, by design).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from kling_batch.api.errors import InsecureUrlError, MissingApiKey

if TYPE_CHECKING:
    import httpx

API_KEY_ENV: Final = "DASHSCOPE_API_KEY"

# What an HTTP header value may hold without the HTTP library rejecting it; a rejection there
# would quote the whole header, key included, in its exception.
_HEADER_SAFE = frozenset(string.ascii_letters + string.digits + string.punctuation)


class ApiKey:
    """The DashScope API key. Its repr and str never show it; `reveal()` is for the wire only."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise MissingApiKey(f"${API_KEY_ENV} is empty")
        if not set(value) <= _HEADER_SAFE:
            raise MissingApiKey(
                f"${API_KEY_ENV} holds characters that cannot go in an HTTP header "
                "(spaces, control characters or non-ASCII); check how it was exported"
            )
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """A one-way name of the key's account, safe to write down: 16 hex digits of a tagged
        SHA-256, from which the key cannot be recovered."""
        tagged = b"kling-batch account\0" + self._value.encode()
        return hashlib.sha256(tagged).hexdigest()[:16]

    def __repr__(self) -> str:
        return "ApiKey(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash((ApiKey, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key wherever the pickle goes (a cache, a process pool).
        raise TypeError("ApiKey cannot be pickled")


def api_key_from_env(environ: Mapping[str, str] | None = None) -> ApiKey:
    """The key from `$DASHSCOPE_API_KEY`; `MissingApiKey` (without any value) if unset/empty."""
    env = os.environ if environ is None else environ
    value = env.get(API_KEY_ENV)
    if value is None:
        raise MissingApiKey(
            f"${API_KEY_ENV} is not set; export your DashScope API key (Model Studio, "
            "China mainland) in that variable"
        )
    return ApiKey(value)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str | httpx.URL) -> str:
    """`url` as a string if it is https, or http to a loopback host; `InsecureUrlError` if not."""
    import httpx  # here: only what sends needs the HTTP client, and a key or a host does not

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InsecureUrlError(f"not a valid URL: {exc}") from None
    scheme = parsed.scheme.lower()
    if scheme == "https" and parsed.host:
        return str(parsed)
    if scheme == "http" and parsed.host and is_loopback_host(parsed.host):
        return str(parsed)
    shown = f"{scheme}://{parsed.host}" if parsed.host else repr(str(url)[:80])
    raise InsecureUrlError(
        f"refusing {shown}: use https, or plain http only to a loopback address "
        "(127.0.0.1, ::1, localhost)"
    )
