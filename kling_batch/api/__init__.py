"""The DashScope client: tasks, uploads, pacing, retries and the error tree, in one surface.

key = api_key_from_env()
async with DashScopeClient(DEFAULT_BASE_URL, key) as client:
    task = await client.create_task(body)
"""

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
from kling_batch.api.security import ApiKey, api_key_from_env, is_loopback_host, require_secure_url
from kling_batch.api.types import Task, TaskListItem, TaskStatus, Upload, Usage
from kling_batch.api.uploads import UPLOAD_VALIDITY, MemoryUploadCache, UploadCache

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
