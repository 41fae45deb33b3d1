"""The pictures a report shows: each done video's poster frame, thumbnails of the local images
entries send, and contact-sheet.png. Made here, once per content, before the page is written;
the page only links them (paths relative to report.html, which sits in the output folder).

A run makes each poster as its video arrives (`PosterMaker`, an event sink), in a process of
its own while renders are awaited: the report at the run's end finds them made. A report of
an output without posters (one made by an older kling-batch) makes them all, a few at a time:
about 3 ms of CPU each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from kling_batch.delivery.videos import VIDEO_FILE, DoneVideo
from kling_batch.manifest.model import Manifest
from kling_batch.report.contact_sheet import write_contact_sheet
from kling_batch.report.folders import EntryFiles, ReportMemo
from kling_batch.report.frames import (
    FrameFailure,
    Poster,
    Thumbnail,
    input_thumbnails,
    make_posters,
)
from kling_batch.report.poster_process import PosterProcess
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.events import Download, EntryDone, Event
from kling_batch.runner.state import StateStore


@dataclass(frozen=True)
class Pictures:
    posters: Mapping[str, Poster | FrameFailure] = field(default_factory=dict)
    inputs: Mapping[str, tuple[Thumbnail | FrameFailure, ...]] = field(default_factory=dict)
    contact_sheet: Path | None = None
    # Why there is no contact sheet (it could not be written); the page says so.
    contact_sheet_problem: str | None = None


def make_pictures(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    files: EntryFiles | None = None,
    memo: ReportMemo | None = None,
) -> Pictures:
    """Posters, input thumbnails and the contact sheet of `manifest`'s output (`files` and
    `memo`, folders.py, shared with the rest of the report when given)."""
    posters = make_posters(layout, manifest, store, files=files, memo=memo)
    known: dict[Path, Thumbnail | FrameFailure] = {}
    inputs = {
        entry.id: found
        for entry in manifest.entries
        if (found := input_thumbnails(layout, entry, known))
    }
    sheet: Path | None = None
    problem: str | None = None
    try:
        sheet = write_contact_sheet(layout, manifest, store, posters=posters)
    except OSError as error:  # a full disk: the page still tells what it can
        problem = f"contact-sheet.png could not be written: {error.strerror or error}"
    return Pictures(posters, inputs, sheet, problem)


def href(layout: OutputLayout, path: Path) -> str:
    """`path` as a link from report.html (which sits in `layout.folder`)."""
    # By its text when it lies under the folder, as every picture does: a report asks this of
    # every card, and pathlib's relative_to costs several times as much.
    folder, text = str(layout.folder), str(path)
    if os.sep == "/" and text.startswith(folder + "/") and len(text) > len(folder) + 1:
        return quote(text[len(folder) + 1 :])
    return quote(path.relative_to(layout.folder).as_posix())


class PosterMaker:
    """An event sink that has each entry's poster made once its video is downloaded and
    verified (the `download` event carries its sha256), by a process of its own
    (poster_process.py): the runner's loop only hands the work over. `close` waits for what
    was handed over."""

    def __init__(self, layout: OutputLayout) -> None:
        self._layout = layout
        self._videos: dict[str, DoneVideo] = {}
        self._process = PosterProcess()

    def emit(self, event: Event) -> None:
        match event:
            case Download(file=file) if file == VIDEO_FILE:
                path = self._layout.entry_dir(event.entry_id) / file
                self._videos[event.entry_id] = DoneVideo(
                    event.entry_id, path, event.size, event.sha256
                )
            case EntryDone():
                video = self._videos.pop(event.entry_id, None)
                if video is not None:
                    self._process.submit(video, self._layout.folder)

    def close(self) -> None:
        """Wait for the posters handed over; safe to call more than once."""
        self._process.close()
