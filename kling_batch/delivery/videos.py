"""The verified video of a done entry: what pick, export and the poster frames start from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kling_batch.manifest.model import Entry
from kling_batch.manifest.requests import fingerprint
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.records import EntryRecord, EntryState

VIDEO_FILE = "video.mp4"


@dataclass(frozen=True)
class DoneVideo:
    """An entry's video as the state store recorded it when it was downloaded and checked."""

    entry_id: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Unavailable:
    """Why an entry has no video to deliver, in words for the user."""

    entry_id: str
    reason: str


def done_video(layout: OutputLayout, record: EntryRecord | None) -> DoneVideo | None:
    """The recorded video of a done entry, or None when the entry is not done (or kept no
    video). Whether the file on disk still matches is the caller's check, made while reading."""
    if record is None or record.state is not EntryState.DONE:
        return None
    kept = next((f for f in record.files if f.name == VIDEO_FILE), None)
    if kept is None:
        return None
    path = layout.entry_dir(record.entry_id) / kept.name
    return DoneVideo(record.entry_id, path, kept.size, kept.sha256)


def deliverable_video(
    layout: OutputLayout, entry: Entry, record: EntryRecord | None
) -> DoneVideo | Unavailable:
    """The video of `entry` as the manifest now describes it: done, rendered from the entry's
    current content (a video of an edited prompt is not this entry's any more), and on disk at
    its recorded size. Its sha256 is checked by whoever reads it (export does, as it copies)."""
    if record is None:
        return Unavailable(entry.id, "not rendered yet")
    video = done_video(layout, record)
    if video is None:
        return Unavailable(entry.id, f"{record.state}, not done")
    if record.fingerprint != fingerprint(entry):
        return Unavailable(
            entry.id, "changed in the manifest since its render; run it to render it again"
        )
    if not video.path.is_file() or video.path.stat().st_size != video.size:
        return Unavailable(
            entry.id, f"{video.path} is missing or damaged; run the manifest again to fetch it"
        )
    return video
