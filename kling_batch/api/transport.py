"""The HTTP edge: httpx's transport failures mapped once onto the error tree, and the few
facts about a request that decide how it may be sent."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Generator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from kling_batch.api.errors import TransientError
from kling_batch.api.security import ApiKey


class TransportErrors:
    """httpx's transport failures, mapped once onto `TransientError`, with whether the
    request may have reached the server. A plain context manager: an exchange's await runs
    inside it, so no generator is set up around every request."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, httpx.TransportError):
            return
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            # No connection, or none free: not one byte of this request left the process.
            raise TransientError(
                f"could not reach the server ({type(exc).__name__}: {exc})", request_sent=False
            ) from exc
        if isinstance(exc, httpx.LocalProtocolError):
            # Raised while writing our own request: its message may quote a header, key
            # included, so neither the message nor the exception is kept.
            raise TransientError(
                f"could not write the request ({type(exc).__name__})", request_sent=True
            ) from None
        if isinstance(exc, httpx.TimeoutException):
            raise TransientError(
                f"no answer in time ({type(exc).__name__})", request_sent=True
            ) from exc
        raise TransientError(
            f"the connection failed ({type(exc).__name__}: {exc})", request_sent=True
        ) from exc


def carries_oss_url(value: object) -> bool:
    """Whether any string anywhere in a request body is an `oss://` URL."""
    if isinstance(value, str):
        return value.startswith("oss://")
    if isinstance(value, Mapping):
        return any(carries_oss_url(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(carries_oss_url(item) for item in value)
    return False


def path_segment(task_id: str) -> str:
    if not task_id or not task_id.strip():
        raise ValueError("a task id must not be empty")
    return quote(task_id, safe="")


def http_client(
    transport: httpx.AsyncBaseTransport | None,
    timeout: httpx.Timeout | float,
    limits: httpx.Limits,
    user_agent: str,
) -> httpx.AsyncClient:
    """An httpx client as DashScopeClient uses them: pooled, explicit timeouts, no redirects
    followed, and no cookies kept."""
    return _CookielessClient(
        transport=transport,
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        verify=_tls() if transport is None else True,
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's roots, or $SSL_CERT_FILE), made once: loading
    the roots takes tens of milliseconds, and every client would load them again."""
    return httpx.create_ssl_context()


class _NoCookies(httpx.Cookies):
    """None kept, none sent: DashScope and OSS set no cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


_NO_COOKIES = _NoCookies()


class _CookielessClient(httpx.AsyncClient):
    """httpx hands every answer to the standard library's cookie parser, wrapped in objects made
    for it; an API that sets no cookies need not pay for that on each request."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")


class BearerAuth(httpx.Auth):
    """Adds the key to one request at send time, so no shared header set ever holds it."""

    def __init__(self, key: ApiKey) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer " + self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"
