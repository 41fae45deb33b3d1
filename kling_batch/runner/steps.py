"""The steps of an entry that wait on the service: polling a task until it ends, and
downloading its videos (fetching fresh URLs when the old ones expired)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kling_batch.api import ThrottledError, TransientError
from kling_batch.api.types import TaskStatus
from kling_batch.manifest.model import Entry
from kling_batch.runner.downloads import DownloadError, UrlExpired, download_file
from kling_batch.runner.events import Download, EntryDone, EntryFailed, Poll
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord
from kling_batch.runner.transitions import downloaded, task_seen

if TYPE_CHECKING:
    from kling_batch.runner.entry_flow import EntryFlow

# The video files of a task, by the task field that holds their URL.
_VIDEO_FILES = (("video_url", "video.mp4"), ("watermark_video_url", "video.watermark.mp4"))
# A task that cannot be queried for this long is left in flight for the next run.
_POLL_OUTAGE_SECONDS = 600.0


async def poll_until_done(
    flow: EntryFlow, entry: Entry, record: EntryRecord, *, look_now: bool = False
) -> EntryRecord:
    assert record.task_id is not None
    submitted_at = record.submitted_at or record.intent_at
    kind = (entry.model, entry.mode, entry.duration)
    unreachable_since: float | None = None
    # The render ended between the last poll that saw it running and the one that sees it
    # done: their midpoint is what the polling policy learns, so that our own polling lag
    # never inflates the expectation.
    seen_running_at = submitted_at
    while True:
        if look_now:
            look_now = False
        else:
            delay = flow.poll_policy.next_delay(
                age=flow.clock.now() - submitted_at, expected=flow.render_times.expected(kind)
            )
            await flow.clock.sleep(delay)
        polled_at = flow.clock.now()
        try:
            task = await flow.client.get_task(record.task_id)
        except (TransientError, ThrottledError) as error:
            # The task keeps rendering meanwhile; the client already logged its retries.
            unreachable_since = unreachable_since or flow.clock.monotonic()
            if flow.clock.monotonic() - unreachable_since < _POLL_OUTAGE_SECONDS:
                continue
            flow.events.emit(
                EntryFailed(
                    entry.id,
                    code=error.code or type(error).__name__,
                    message=f"the task could not be queried for {_POLL_OUTAGE_SECONDS:.0f} s; "
                    "it stays in flight and the next run polls it again",
                    resumable=True,
                )
            )
            return record
        unreachable_since = None
        flow.keep_task(entry.id, task)
        flow.note_echo(record, task)
        flow.events.emit(Poll(entry.id, task_id=task.task_id, status=task.status))
        if task.status is not record.task_status or task.status.is_terminal:
            record = flow.store.apply(entry.id, task_seen(record, task, flow.clock.now()))
        if not task.status.is_terminal:
            seen_running_at = polled_at
            continue
        if task.status is TaskStatus.SUCCEEDED:
            ended_about = (seen_running_at + polled_at) / 2
            flow.render_times.observe(kind, ended_about - submitted_at)
        else:
            flow.events.emit(
                EntryFailed(
                    entry.id,
                    state=record.state,
                    code=record.error_code,
                    message=record.error_message,
                    request_id=record.request_id,
                )
            )
        return record


async def download(flow: EntryFlow, entry: Entry, record: EntryRecord) -> None:
    files: list[FileRecord] = []
    for field_name, file_name in _VIDEO_FILES:
        url = getattr(record, field_name)
        if not url:
            continue
        dest = flow.layout.entry_dir(entry.id) / file_name
        try:
            try:
                kept = await download_file(flow.client.downloads, url, dest)
            except UrlExpired:
                record = await refresh_urls(flow, entry, record)
                fresh = getattr(record, field_name)
                if record.state is not EntryState.SUCCEEDED or not fresh:
                    return
                kept = await download_file(flow.client.downloads, fresh, dest)
        except DownloadError as problem:
            flow.events.emit(EntryFailed(entry.id, code="DownloadFailed", message=str(problem)))
            return  # stays SUCCEEDED: the next run fetches it again
        files.append(kept)
        flow.events.emit(Download(entry.id, file=file_name, size=kept.size, sha256=kept.sha256))
    if not files:
        flow.fail_entry(
            entry, "NoVideo", "the task succeeded but gave no video URL", record.request_id
        )
        return
    done = flow.store.apply(entry.id, downloaded(tuple(files)))
    flow.events.emit(
        EntryDone(
            entry.id,
            files=tuple(f.name for f in files),
            billed_seconds=done.billed_seconds,
        )
    )


async def refresh_urls(flow: EntryFlow, entry: Entry, record: EntryRecord) -> EntryRecord:
    assert record.task_id is not None
    task = await flow.client.get_task(record.task_id)
    flow.keep_task(entry.id, task)
    record = flow.store.apply(entry.id, task_seen(record, task, flow.clock.now()))
    if record.state is EntryState.EXPIRED:
        flow.events.emit(
            EntryFailed(entry.id, code=record.error_code, message=record.error_message)
        )
    return record
