"""What the state store remembers of one entry: its state and record, as plain data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kling_batch.api.types import TaskStatus
from kling_batch.runner.echo import EchoBasis

# How long DashScope answers queries of a task id ("A task id is queryable for 24 hours").
TASK_ID_HOURS = 24
# The error code of an entry whose create's answer was lost and that the task list could not
# settle yet: a later look may (see runner/reconcile.py).
UNSETTLED = "SubmissionUnsettled"


class EntryState(StrEnum):
    """Where one entry stands, as far as this machine knows."""

    SUBMITTING = "submitting"  # intent recorded; the create's answer is not (yet) known
    IN_FLIGHT = "in_flight"  # task id known, PENDING or RUNNING remotely
    SUCCEEDED = "succeeded"  # rendered remotely; download not finished
    DONE = "done"  # files downloaded and verified
    FAILED = "failed"  # rejected, failed or moderated: an entry-level failure
    CANCELED = "canceled"
    EXPIRED = "expired"  # the task is gone (UNKNOWN / older than 24 h) before its files were kept
    UNKNOWN = "unknown"  # a submission that could not be settled: maybe billed, maybe not

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATES


_FINAL_STATES = frozenset(
    {EntryState.DONE, EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED}
)


@dataclass(frozen=True)
class FileRecord:
    """A downloaded, verified file of an entry, relative to the entry's folder."""

    name: str
    size: int
    sha256: str
    # The file on disk that was verified, as `file_stamp` tells it (inode, size, modification
    # time): a file that still shows it is the same file, and is not hashed again. None: hash.
    stamp: str | None = field(default=None, compare=False)


def file_stamp(found: os.stat_result) -> str:
    """What tells one file on disk from any other, or from itself once written to. The
    downloader back-dates a verified file's modification time (runner/downloads.py), so that
    any later write, however soon, leaves another time."""
    return f"{found.st_dev}:{found.st_ino}:{found.st_size}:{found.st_mtime_ns}"


@dataclass(frozen=True)
class EntryRecord:
    entry_id: str
    fingerprint: str
    model: str
    state: EntryState
    body_sha256: str
    prompt_key: str | None  # what the service echoes as orig_prompt, for reconciliation
    intent_at: float  # epoch seconds of the latest submit intent
    task_id: str | None = None
    task_status: TaskStatus | None = None
    request_id: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    video_url: str | None = None
    watermark_video_url: str | None = None
    urls_fetched_at: float | None = None
    files: tuple[FileRecord, ...] = ()
    usage: dict[str, Any] | None = field(default=None, compare=False)
    billed_seconds: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    updated_at: float = 0.0
    # What the fingerprint hashes (the body, local files as content hashes), so that `plan` can
    # say which fields changed since this render. None in records written before it was kept.
    fingerprint_body: dict[str, Any] | None = field(default=None, compare=False)
    # What of the body sent could come back as orig_prompt (for reconciliation).
    echo_basis: EchoBasis | None = field(default=None, compare=False)

    @property
    def basis(self) -> EchoBasis:
        """The echo basis; for a record from before it was kept, what prompt_key tells."""
        if self.echo_basis is not None:
            return self.echo_basis
        return EchoBasis(prompt=self.prompt_key, storyboard=self.prompt_key is None)

    @property
    def unsettled(self) -> bool:
        """A create whose answer was lost, not yet matched (or not) to a task in the list."""
        return self.state is EntryState.SUBMITTING or (
            self.state is EntryState.UNKNOWN and self.error_code == UNSETTLED
        )
