"""Local files on DashScope's temporary OSS: the cache of what is already there, and the form.

A file uploaded through getPolicy is reachable as `oss://<key>` for 48 hours, for one model and
one account. The cache maps (content sha256, model) to that URL so that a file used by many
entries, or by a re-run, is uploaded once; the client checks that enough validity is left
before reusing an entry.
"""

from __future__ import annotations

import mimetypes
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from kling_batch.api.decode import UploadPolicy
from kling_batch.api.types import Upload

# "Valid for 48 hours" (get temporary file URL). Counted from just before the policy request,
# so the recorded expiry is never later than the real one.
UPLOAD_VALIDITY = timedelta(hours=48)
# An upload is reused only with this much validity left: the task that names it may wait in
# the queue, and the service fetches the file only when the render starts.
UPLOAD_REUSE_MARGIN = timedelta(hours=2)


class UploadCache(Protocol):
    """Where uploads are remembered (in memory, or the runner's state store)."""

    def get(self, sha256: str, model: str) -> Upload | None: ...

    def put(self, upload: Upload) -> None: ...


class MemoryUploadCache:
    """An `UploadCache` for one process; forgets expired entries as it meets them."""

    def __init__(self) -> None:
        self._uploads: dict[tuple[str, str], Upload] = {}

    def get(self, sha256: str, model: str) -> Upload | None:
        upload = self._uploads.get((sha256, model))
        if upload is not None and upload.expires_at <= datetime.now(UTC):
            del self._uploads[(sha256, model)]
            return None
        return upload

    def put(self, upload: Upload) -> None:
        self._uploads[(upload.sha256, upload.model)] = upload

    def __len__(self) -> int:
        return len(self._uploads)


def is_reusable(upload: Upload, now: datetime) -> bool:
    return upload.expires_at - now > UPLOAD_REUSE_MARGIN


def object_key(policy: UploadPolicy, sha256: str, path: Path) -> str:
    """A fresh key under the policy's folder for this file.

    The content hash makes it readable; the random part makes every attempt a new object, so a
    retry after a lost answer never meets `x-oss-forbid-overwrite` and never mistakes an older
    (possibly nearly expired) object for the one it just wrote.
    """
    folder = policy.upload_dir.rstrip("/")
    return f"{folder}/{sha256[:16]}-{secrets.token_hex(4)}{path.suffix.lower()}"


def upload_form(policy: UploadPolicy, key: str) -> dict[str, str]:
    """The form fields of the OSS POST, in the documented order; the file goes after them."""
    return {
        "OSSAccessKeyId": policy.oss_access_key_id,
        "policy": policy.policy,
        "Signature": policy.signature,
        "key": key,
        "x-oss-object-acl": policy.x_oss_object_acl,
        "x-oss-forbid-overwrite": policy.x_oss_forbid_overwrite,
        "success_action_status": "200",
    }


def content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def oss_url(key: str) -> str:
    return f"oss://{key}"
