"""Which endpoint a request is for: the service's paths, the OSS hosts' and the test's own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kling_batch.simulator._protocol import SimRequest
from kling_batch.simulator._stats import Endpoint
from kling_batch.simulator._uploads import UPLOAD_PATH

API_PREFIX = "/api/v1"
CREATE_PATH = API_PREFIX + "/services/aigc/video-generation/video-synthesis"
FILES_PREFIX = "/__files/"
CONTROL_PREFIX = "/__sim/"
_TASK_PATH = re.compile(r"/tasks/([^/]+)")
_CANCEL_PATH = re.compile(r"/tasks/([^/]+)/cancel")
_FILE_PATH = re.compile(re.escape(FILES_PREFIX) + r"([^/]+)/([^/]+)")


@dataclass(frozen=True)
class Route:
    endpoint: Endpoint
    task_id: str = ""
    file_name: str = ""


def route(request: SimRequest) -> Route:
    method = request.method
    if request.path.startswith(CONTROL_PREFIX):
        return Route(Endpoint.CONTROL)
    # One trailing slash is taken on every route, as the service takes it on the task list:
    # the SDK's asyncio client asks for `/tasks/{id}/` and posts `/tasks/{id}/cancel/`.
    path = request.path[:-1] if request.path.endswith("/") else request.path
    if path == UPLOAD_PATH and method == "POST":
        return Route(Endpoint.UPLOAD)
    if (match := _FILE_PATH.fullmatch(path)) and method in ("GET", "HEAD"):
        return Route(Endpoint.DOWNLOAD, match.group(1), match.group(2))
    if not path.startswith(API_PREFIX + "/"):
        return Route(Endpoint.OTHER)
    rest = path.removeprefix(API_PREFIX)
    if path == CREATE_PATH and method == "POST":
        return Route(Endpoint.CREATE)
    if rest == "/tasks" and method == "GET":
        return Route(Endpoint.LIST)
    if (match := _TASK_PATH.fullmatch(rest)) and method == "GET":
        return Route(Endpoint.QUERY, match.group(1))
    if (match := _CANCEL_PATH.fullmatch(rest)) and method == "POST":
        return Route(Endpoint.CANCEL, match.group(1))
    if rest == "/uploads" and method == "GET":
        return Route(Endpoint.POLICY)
    return Route(Endpoint.OTHER)
