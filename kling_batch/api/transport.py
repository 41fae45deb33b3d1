"""The HTTP edge: httpx's transport failures mapped once onto the error tree, and the few
facts about a request that decide how it may be sent."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx

from kling_batch.api.errors import TransientError


@asynccontextmanager
async def transport_errors() -> AsyncGenerator[None]:
    """httpx's transport failures, mapped once onto `TransientError`, with whether the
    request may have reached the server."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # No connection, or none free: not one byte of this request left the process.
        raise TransientError(
            f"could not reach the server ({type(exc).__name__}: {exc})", request_sent=False
        ) from exc
    except httpx.LocalProtocolError as exc:
        # Raised while writing our own request: its message may quote a header, key
        # included, so neither the message nor the exception is kept.
        raise TransientError(
            f"could not write the request ({type(exc).__name__})", request_sent=True
        ) from None
    except httpx.TimeoutException as exc:
        raise TransientError(
            f"no answer in time ({type(exc).__name__})", request_sent=True
        ) from exc
    except httpx.TransportError as exc:
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
