"""What DashScope forgets, and when: task ids, video URLs and temporary uploads.

Lifetimes from the API reference (dashscope-kling-api.md): a task id is queryable for 24 hours,
a video URL stays valid 30 days, an `oss://` upload 48 hours. `plan` and `status` turn the state
store's times (`submitted_at`, `finished_at` / `urls_fetched_at`, the uploads' `expires_at`)
into notices, so a user hears about a video that is about to be lost while it can still be
saved. Times are this machine's clock, as the state store records them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kling_batch.api.types import Upload
from kling_batch.api.uploads import UPLOAD_REUSE_MARGIN, UPLOAD_VALIDITY
from kling_batch.manifest.model import Entry
from kling_batch.manifest.requests import content_hash
from kling_batch.runner.records import TASK_ID_HOURS, EntryRecord, EntryState

HOUR = 3600.0
DAY = 24 * HOUR
TASK_ID_LIFETIME = TASK_ID_HOURS * HOUR
VIDEO_URL_LIFETIME = 30 * DAY
UPLOAD_LIFETIME = UPLOAD_VALIDITY.total_seconds()
# `run` uploads a file again when less than this is left of its upload (api/uploads.py).
UPLOAD_MARGIN = UPLOAD_REUSE_MARGIN.total_seconds()


class Expiring(StrEnum):
    TASK_ID = "task_id"
    VIDEO_URL = "video_url"
    UPLOAD = "upload"

    @property
    def soon(self) -> float:
        """How long before the end a notice is due: enough time to act on it."""
        return _SOON[self]


# A fraction of each lifetime, rounded to something a person can plan with.
_SOON = {Expiring.TASK_ID: 4 * HOUR, Expiring.VIDEO_URL: 3 * DAY, Expiring.UPLOAD: 6 * HOUR}

UploadLookup = Callable[[str, str], Upload | None]  # (sha256, model) -> the cached upload


@dataclass(frozen=True)
class ExpiryNotice:
    entry_id: str
    what: Expiring
    subject: str  # the task id, or the local file's name
    expires_at: float  # epoch seconds
    seconds_left: float  # negative once expired
    message: str

    @property
    def expired(self) -> bool:
        return self.seconds_left <= 0

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry_id,
            "what": str(self.what),
            "subject": self.subject,
            "expires_at": datetime.fromtimestamp(self.expires_at, UTC).isoformat(),
            "expired": self.expired,
            "message": self.message,
        }


def record_notices(
    record: EntryRecord, now: float, *, needs_video: bool
) -> tuple[ExpiryNotice, ...]:
    """What is about to be lost for an entry the service holds. `needs_video`: its video still
    has to be downloaded (rendered, or its kept files are missing)."""
    task_expires = (record.submitted_at or record.intent_at) + TASK_ID_LIFETIME
    if record.state is EntryState.IN_FLIGHT and record.task_id:
        left = task_expires - now
        if left <= Expiring.TASK_ID.soon:
            message = (
                f"task {record.task_id} is older than {TASK_ID_HOURS} h, so DashScope no longer "
                "answers for it: `run` will mark it expired"
                if left <= 0
                else f"task {record.task_id} can be queried for {span(left)} more (task ids live "
                f"{TASK_ID_HOURS} h): run before then or its video is lost"
            )
            return (_notice(record, Expiring.TASK_ID, record.task_id, task_expires, now, message),)
        return ()
    fetched = [t for t in (record.finished_at, record.urls_fetched_at) if t is not None]
    if not needs_video or not record.video_url or not fetched:
        return ()
    # Links are signed from the end of the render; the fetch time is the fallback.
    url_expires = min(fetched) + VIDEO_URL_LIFETIME
    left = url_expires - now
    if left > Expiring.VIDEO_URL.soon:
        return ()
    subject = record.task_id or record.entry_id
    if left > 0:
        message = (
            f"its video link expires in {span(left)} and the video is not downloaded: "
            "run to fetch it"
        )
    elif task_expires > now:
        message = (
            f"its video link expired; `run` asks task {subject} for a fresh one, which works "
            f"for {span(task_expires - now)} more"
        )
    else:
        message = (
            f"its video link expired and task {subject} is older than {TASK_ID_HOURS} h: "
            "the video can no longer be fetched, and `run` will mark it expired"
        )
    return (_notice(record, Expiring.VIDEO_URL, subject, url_expires, now, message),)


def status_notices(
    entry: Entry, record: EntryRecord | None, lookup: UploadLookup, now: float
) -> tuple[ExpiryNotice, ...]:
    """What `status` warns about, from the state store alone (no file is hashed): tasks in
    flight, videos not yet downloaded, and the uploads of entries not yet sent."""
    if record is None:
        return upload_notices(entry, lookup, now)
    return record_notices(record, now, needs_video=record.state is EntryState.SUCCEEDED)


def upload_notices(entry: Entry, lookup: UploadLookup, now: float) -> tuple[ExpiryNotice, ...]:
    """The entry's local files whose temporary upload has run out, or soon will."""
    notices: list[ExpiryNotice] = []
    for media in entry.local_media:
        assert media.path is not None
        upload = lookup(content_hash(media.path), entry.model)
        if upload is None:
            continue
        expires = upload.expires_at.timestamp()
        left = expires - now
        if left > Expiring.UPLOAD.soon:
            continue
        name = media.path.name
        if left <= UPLOAD_MARGIN:
            state = "expired" if left <= 0 else f"expires in {span(left)}"
            message = (
                f"{name}: its temporary upload (valid {UPLOAD_LIFETIME / HOUR:.0f} h) {state}; "
                "`run` uploads it again before submitting"
            )
        else:
            message = (
                f"{name}: its temporary upload expires in {span(left)}; a run after "
                f"{span(left - UPLOAD_MARGIN)} uploads it again"
            )
        notices.append(ExpiryNotice(entry.id, Expiring.UPLOAD, name, expires, left, message))
    return tuple(notices)


def span(seconds: float) -> str:
    """A duration the way a person says it: `40 min`, `3.5 h`, `2.1 days`."""
    seconds = abs(seconds)
    if seconds < HOUR:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} days"


def _notice(
    record: EntryRecord, what: Expiring, subject: str, expires_at: float, now: float, message: str
) -> ExpiryNotice:
    return ExpiryNotice(record.entry_id, what, subject, expires_at, expires_at - now, message)
