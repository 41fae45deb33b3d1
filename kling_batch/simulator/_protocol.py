"""The simulator's view of one HTTP exchange, apart from how it travels (socket or in-process)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]  # first value of each parameter
    headers: dict[str, str]  # names in lower case
    body: bytes
    origin: str  # "http://127.0.0.1:8765": where the client reached us, for the URLs we hand out

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Action(StrEnum):
    ANSWER = "answer"
    RESET = "reset"  # close the connection at once, no answer
    HANG = "hang"  # never answer; the client gives up (or the server resets after a while)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    action: Action = Action.ANSWER
    delay: float = 0.0  # real seconds to wait before answering
    truncate_at: int | None = None  # send this many body bytes, then drop the connection
    body_length: int | None = field(default=None)  # Content-Length when it differs from body

    @property
    def content_length(self) -> int:
        return len(self.body) if self.body_length is None else self.body_length


def new_request_id() -> str:
    return str(uuid.uuid4())


def json_reply(status: int, payload: dict[str, Any], *extra: tuple[str, str]) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, (("Content-Type", "application/json"), *extra), body)


class ApiError(Exception):
    """A DashScope error answer: `{"code", "message", "request_id"}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, *headers: tuple[str, str]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def reply(self, request_id: str) -> Reply:
        payload = {"code": self.code, "message": self.message, "request_id": request_id}
        return json_reply(self.status, payload, *self.headers)


def invalid(message: str, code: str = "InvalidParameter") -> ApiError:
    return ApiError(400, code, message)


class OssError(Exception):
    """An OSS error answer (the upload host and the video URLs): XML, as OSS writes it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def reply(self, request_id: str) -> Reply:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
            f"  <Code>{escape(self.code)}</Code>\n  <Message>{escape(self.message)}</Message>\n"
            f"  <RequestId>{request_id}</RequestId>\n</Error>\n"
        ).encode()
        return Reply(
            self.status,
            (("Content-Type", "application/xml"), ("x-oss-request-id", request_id)),
            body,
        )


def server_error(roll: float, *, oss: bool) -> ApiError | OssError:
    """A 500 InternalError (roll < 0.5) or a 503 ServiceUnavailable, as JSON or as OSS XML."""
    if roll < 0.5:
        status, code, message = (
            500,
            "InternalError",
            "An internal error has occured, please try again later or contact service support.",
        )
    else:
        status, code, message = (
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable, please try again later.",
        )
    return OssError(status, code, message) if oss else ApiError(status, code, message)
