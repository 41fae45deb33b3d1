"""The DashScope client: tasks, uploads, pacing, retries and the error tree, in one surface.

key = api_key_from_env()
async with DashScopeClient(DEFAULT_BASE_URL, key) as client:
    task = await client.create_task(body)

Names are imported on first use (PEP 562): the error tree, the task types and the key import
neither httpx nor anyio, so the commands that send nothing (`validate`, `plan`, `status`) can
name them without loading the HTTP client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kling_batch.api.client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, DashScopeClient
    from kling_batch.api.errors import (
        AccountError,
        AmbiguousSubmission,
        ApiError,
        CancelRefused,
        ConfigurationError,
        InsecureUrlError,
        MissingApiKey,
        RequestRejected,
        ThrottledError,
        TransientError,
    )
    from kling_batch.api.pacing import Pacing, RequestKind
    from kling_batch.api.retry import RetryNotice, RetryPolicy
    from kling_batch.api.security import (
        ApiKey,
        api_key_from_env,
        is_loopback_host,
        require_secure_url,
    )
    from kling_batch.api.types import Task, TaskListItem, TaskStatus, Upload, Usage
    from kling_batch.api.uploads import UPLOAD_VALIDITY, MemoryUploadCache, UploadCache

_EXPORTS = {
    "DEFAULT_BASE_URL": "kling_batch.api.client",
    "DEFAULT_TIMEOUT": "kling_batch.api.client",
    "DashScopeClient": "kling_batch.api.client",
    "AccountError": "kling_batch.api.errors",
    "AmbiguousSubmission": "kling_batch.api.errors",
    "ApiError": "kling_batch.api.errors",
    "CancelRefused": "kling_batch.api.errors",
    "ConfigurationError": "kling_batch.api.errors",
    "InsecureUrlError": "kling_batch.api.errors",
    "MissingApiKey": "kling_batch.api.errors",
    "RequestRejected": "kling_batch.api.errors",
    "ThrottledError": "kling_batch.api.errors",
    "TransientError": "kling_batch.api.errors",
    "Pacing": "kling_batch.api.pacing",
    "RequestKind": "kling_batch.api.pacing",
    "RetryNotice": "kling_batch.api.retry",
    "RetryPolicy": "kling_batch.api.retry",
    "ApiKey": "kling_batch.api.security",
    "api_key_from_env": "kling_batch.api.security",
    "is_loopback_host": "kling_batch.api.security",
    "require_secure_url": "kling_batch.api.security",
    "Task": "kling_batch.api.types",
    "TaskListItem": "kling_batch.api.types",
    "TaskStatus": "kling_batch.api.types",
    "Upload": "kling_batch.api.types",
    "Usage": "kling_batch.api.types",
    "UPLOAD_VALIDITY": "kling_batch.api.uploads",
    "MemoryUploadCache": "kling_batch.api.uploads",
    "UploadCache": "kling_batch.api.uploads",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "UPLOAD_VALIDITY",
    "AccountError",
    "AmbiguousSubmission",
    "ApiError",
    "ApiKey",
    "CancelRefused",
    "ConfigurationError",
    "DashScopeClient",
    "InsecureUrlError",
    "MemoryUploadCache",
    "MissingApiKey",
    "Pacing",
    "RequestKind",
    "RequestRejected",
    "RetryNotice",
    "RetryPolicy",
    "Task",
    "TaskListItem",
    "TaskStatus",
    "ThrottledError",
    "TransientError",
    "Upload",
    "UploadCache",
    "Usage",
    "api_key_from_env",
    "is_loopback_host",
    "require_secure_url",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'kling_batch.api' has no attribute {name!r}")
