"""The result videos: signed URLs valid 30 days, served with Range support as OSS serves them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable

from kling_batch.simulator._media import UnsatisfiableRange, parse_range, task_clip
from kling_batch.simulator._protocol import OssError, Reply, SimRequest, new_request_id
from kling_batch.simulator._routes import FILES_PREFIX
from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._tasks import SimTask
from kling_batch.simulator._uploads import ACCESS_KEY_ID

VIDEO_NAMES = {"video.mp4": False, "video_watermark.mp4": True}  # name -> has the watermark
URL_SECONDS = 30 * 24 * 3600  # video URLs stay valid 30 days


class VideoFiles:
    """Signs the video URLs a query hands out and serves the bytes behind them."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def url(self, origin: str, task: SimTask, name: str) -> str:
        expires = int((task.end_time or task.created_at) + URL_SECONDS)
        signature = self._sign(task.task_id, name, expires)
        return (
            f"{origin}{FILES_PREFIX}{task.task_id}/{name}"
            f"?Expires={expires}&OSSAccessKeyId={ACCESS_KEY_ID}&Signature={signature}"
        )

    def serve(
        self,
        task: SimTask | None,
        file_name: str,
        request: SimRequest,
        now: float,
        cut: Callable[[int], int | None],
    ) -> Reply:
        """The answer to a GET or HEAD of a video URL; `cut(length)` may cut a GET body short."""
        watermark = VIDEO_NAMES.get(file_name)
        if (
            task is None
            or watermark is None
            or task.status(now, expire=False) is not TaskStatus.SUCCEEDED
            or (watermark and not task.spec.watermark)
        ):
            raise OssError(404, "NoSuchKey", "The specified key does not exist.")
        expires = request.query.get("Expires", "")
        signature = request.query.get("Signature", "")
        if not expires.isdigit() or not hmac.compare_digest(
            signature, self._sign(task.task_id, file_name, int(expires))
        ):
            raise OssError(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if now > int(expires):
            raise OssError(403, "AccessDenied", "Request has expired.")
        data = task_clip(task.task_id, task.spec, watermark)
        headers = [
            ("Content-Type", "video/mp4"),
            ("Accept-Ranges", "bytes"),
            ("ETag", f'"{hashlib.md5(data).hexdigest().upper()}"'),
        ]
        try:
            wanted = parse_range(request.header("range"), len(data))
        except UnsatisfiableRange:
            error = OssError(416, "InvalidRange", "The requested range is not satisfiable.")
            reply = error.reply(new_request_id())
            return dataclasses.replace(
                reply, headers=(*reply.headers, ("Content-Range", f"bytes */{len(data)}"))
            )
        status, body = 200, data
        if wanted is not None:
            status, body = 206, data[wanted.start : wanted.end + 1]
            headers.append(("Content-Range", f"bytes {wanted.start}-{wanted.end}/{len(data)}"))
        if request.method == "HEAD":
            return Reply(status, tuple(headers), b"", body_length=len(body))
        return Reply(status, tuple(headers), body, truncate_at=cut(len(body)) if body else None)

    def _sign(self, task_id: str, name: str, expires: int) -> str:
        text = f"{task_id}/{name}:{expires}".encode()
        digest = hmac.new(self._secret, text, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()
