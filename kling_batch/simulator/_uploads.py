"""The temporary-file service: getPolicy answers and the OSS host that takes the form upload."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kling_batch.simulator._clock import BEIJING, utc_iso
from kling_batch.simulator._inspect import inspect_image, inspect_video
from kling_batch.simulator._multipart import FormPart, MalformedForm, parse_form
from kling_batch.simulator._protocol import ApiError, OssError, Reply, SimRequest, invalid
from kling_batch.simulator._validation import MODELS, VIDEO_TYPES, CreateSpec

POLICY_SECONDS = 300  # data.expire_in_seconds
MAX_FILE_MB = 100  # data.max_file_size_mb
OBJECT_SECONDS = 48 * 3600  # an oss:// URL is good for 48 h
ACCESS_KEY_ID = "LTAI5tSimulatorOnly00000"  # a made-up id; the simulator holds no real secret
UPLOAD_PATH = "/__oss"
_REQUIRED_FIELDS = (
    "ossaccesskeyid",
    "policy",
    "signature",
    "key",
    "x-oss-object-acl",
    "x-oss-forbid-overwrite",
)


@dataclass(frozen=True)
class StoredObject:
    """A file on the upload host, usable as `oss://{key}` for `model` only."""

    key: str
    model: str
    sha256: str
    size: int
    uploaded_at: float

    @property
    def url(self) -> str:
        return f"oss://{self.key}"


@dataclass(frozen=True)
class _Grant:
    model: str
    upload_dir: str
    expires_at: float


def policy_model(query: dict[str, str]) -> str:
    """The model a getPolicy request names; the service's error if the request is wrong."""
    action, model = query.get("action"), query.get("model")
    if action != "getPolicy":
        raise invalid(f"action must be getPolicy, not {action!r}")
    if not model:
        raise invalid("model is required: the exact model name the file will be used with")
    if model not in MODELS:
        raise ApiError(404, "ModelNotFound", f"Model not exist: {model!r}.")
    return model


class UploadHost:
    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._grants: dict[str, _Grant] = {}  # by the policy text handed out
        self._objects: dict[str, StoredObject] = {}
        self._contents: dict[str, bytes] = {}  # by key: what the service inspects when used

    def policy(self, model: str, origin: str, now: float) -> dict[str, Any]:
        """The `data` of a getPolicy answer for `model`."""
        day = datetime.fromtimestamp(now, BEIJING).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{secrets.token_hex(16)}/{day}/{secrets.token_hex(8)}"
        expires_at = now + POLICY_SECONDS
        document = {
            "expiration": utc_iso(expires_at),
            "conditions": [
                ["content-length-range", 0, MAX_FILE_MB * 1024 * 1024],
                ["starts-with", "$key", upload_dir],
                {"bucket": "dashscope-file-mgr"},
                {"x-oss-object-acl": "private"},
                {"x-oss-forbid-overwrite": "true"},
            ],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        self._grants[policy] = _Grant(model, upload_dir, expires_at)
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": origin + UPLOAD_PATH,
            "expire_in_seconds": POLICY_SECONDS,
            "max_file_size_mb": MAX_FILE_MB,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def answer_form(self, request: SimRequest, request_id: str, now: float) -> Reply:
        """The OSS host's answer to a PostObject form upload."""
        try:
            parts = parse_form(request.header("content-type"), request.body)
        except MalformedForm as error:
            raise OssError(400, "InvalidArgument", f"Malformed POST form: {error}.") from None
        stored = self.receive(parts, now)
        headers = (("x-oss-request-id", request_id), ("ETag", f'"{stored.sha256[:32].upper()}"'))
        wanted = next((p.data for p in parts if p.name == "success_action_status"), b"")
        return Reply(200 if wanted == b"200" else 204, headers)

    def receive(self, parts: list[FormPart], now: float) -> StoredObject:
        """Store the file of a PostObject form, checked as OSS checks it; OssError if not."""
        if not parts or parts[-1].name != "file" or parts[-1].filename is None:
            raise OssError(400, "InvalidArgument", "The file field must be the last form field.")
        if sum(part.name.lower() == "file" for part in parts) != 1:
            raise OssError(400, "InvalidArgument", "One file per upload request.")
        fields = {part.name.lower(): part.data.decode("utf-8", "replace") for part in parts[:-1]}
        missing = [name for name in _REQUIRED_FIELDS if name not in fields]
        if missing:
            raise OssError(400, "InvalidArgument", f"Missing form fields: {', '.join(missing)}.")
        if fields["ossaccesskeyid"] != ACCESS_KEY_ID:
            raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id does not exist.")
        grant = self._grants.get(fields["policy"])
        if grant is None or not hmac.compare_digest(
            fields["signature"], self._sign(fields["policy"])
        ):
            raise OssError(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if now > grant.expires_at:
            raise OssError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        key = fields["key"]
        if not key.startswith(grant.upload_dir + "/") or key == grant.upload_dir + "/":
            raise OssError(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: "
                f'["starts-with", "$key", "{grant.upload_dir}"]',
            )
        data = parts[-1].data
        if len(data) > MAX_FILE_MB * 1024 * 1024:
            raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the policy limit.")
        if key in self._objects and fields["x-oss-forbid-overwrite"].lower() == "true":
            raise OssError(409, "FileAlreadyExists", "The object you specified already exists.")
        stored = StoredObject(key, grant.model, hashlib.sha256(data).hexdigest(), len(data), now)
        self._objects[key] = stored
        self._contents[key] = data
        return stored

    def resolve(self, key: str, model: str, now: float) -> StoredObject:
        """The object behind an oss:// URL of a create request; the service's error if none."""
        stored = self._objects.get(key)
        if stored is None or now - stored.uploaded_at > OBJECT_SECONDS:
            raise invalid(
                f"Failed to download oss://{key}: no such temporary file (never uploaded, or "
                "older than 48 h)",
                "InvalidParameter.DataInspection",
            )
        if stored.model != model:
            raise invalid(
                f"oss://{key} was uploaded for {stored.model} and cannot be used with {model}; "
                "upload the file again with a policy for this model"
            )
        return stored

    def inspect(self, spec: CreateSpec, now: float) -> str | None:
        """Resolve each oss:// URL of a create; why the service refuses the first bad file.

        The service checks a file when a task uses it, not when it is uploaded: the upload host
        is plain storage, and any bytes go up.
        """
        refused: str | None = None
        for number, media in enumerate(spec.media):
            key = media.oss_key
            if key is None:
                continue
            self.resolve(key, spec.model, now)
            inspect = inspect_video if media.type in VIDEO_TYPES else inspect_image
            problem = inspect(self._contents[key])
            if problem is not None and refused is None:
                refused = f"input.media[{number}] ({media.type}, {media.url}): {problem}"
        return refused

    def objects(self) -> tuple[StoredObject, ...]:
        return tuple(self._objects.values())

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()
