"""What the report says: each entry's outcome and the run's totals, gathered from the output.

Each card holds the entry's `EntryResult`, the very object results.jsonl is written from, so
the report and results.jsonl can never disagree on a number. Wall time comes from events.jsonl
(timing.py); each entry folder is listed once, and task.json read only when it changed since
the last report (folders.py). Groups and picks come from delivery/ (the one
place that says what a group is), pictures from pictures.py (made before the page).
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from kling_batch.api.decode import beijing_time
from kling_batch.delivery.groups import group_of, take_of
from kling_batch.delivery.picks import PicksInvalid, picks_path, read_picks
from kling_batch.manifest.model import Entry, Manifest, Media
from kling_batch.prices import PriceTable
from kling_batch.report.folders import EntryFiles, ReportMemo
from kling_batch.report.frames import FrameFailure, Poster, Thumbnail
from kling_batch.report.pictures import Pictures, href
from kling_batch.report.timing import RunTiming, run_timing
from kling_batch.runner.artifacts import TASK_FILE, OutputLayout, read_bytes
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import (
    PENDING,
    VIDEO_FILE,
    EntryResult,
    entry_result,
)
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

# The files of an entry's folder worth a link, in the order a reviewer wants them.
ARTIFACT_FILES = (
    VIDEO_FILE,
    "video.watermark.mp4",
    "request.json",
    TASK_FILE,
    "polls.jsonl",
)
# The commands' default --output (cli/options.py): the cards' commands name any other.
_DEFAULT_OUTPUT = Path("output")
# Filter order in the report: what needs attention first after the good news.
STATUS_ORDER = (
    str(EntryState.DONE),
    str(EntryState.FAILED),
    str(EntryState.UNKNOWN),
    str(EntryState.EXPIRED),
    str(EntryState.CANCELED),
    str(EntryState.SUCCEEDED),
    str(EntryState.IN_FLIGHT),
    str(EntryState.SUBMITTING),
    PENDING,
)


@dataclass(frozen=True)
class Artifact:
    name: str
    href: str  # relative to report.html, which sits in the same folder as the entry folders
    size: int


@dataclass(frozen=True)
class InputImage:
    """A local image the entry sends, as its card shows it."""

    role: str  # first_frame, last_frame, refer
    name: str  # the file's name
    href: str | None = None  # its thumbnail
    problem: str | None = None  # why there is no thumbnail


@dataclass(frozen=True)
class EntryOutcome:
    """One card of the report: the entry, its result, and its files on disk."""

    entry: Entry
    result: EntryResult
    video_href: str | None = None  # set only when the verified video is on disk
    artifacts: tuple[Artifact, ...] = ()
    poster_href: str | None = None
    poster_problem: FrameFailure | None = None  # a done video without a poster, and why
    inputs: tuple[InputImage, ...] = ()
    render_seconds: float | None = None  # submit to end, by the service's clock
    group: str = ""
    take: int | None = None
    picked: bool = False

    @property
    def group_id(self) -> str:
        return self.group or self.entry.id


@dataclass(frozen=True)
class ReportFacts:
    name: str
    manifest_path: Path
    currency: str
    price_source: str
    entries: tuple[EntryOutcome, ...]
    timing: RunTiming = field(default_factory=RunTiming)
    generated_at: float = field(default_factory=time.time)
    # Where the output was made (runner/world.py): shown when its videos are not real renders.
    simulated: bool | None = False
    world_note: str | None = None
    picks_file: str = ""  # its name, beside the manifest
    picks_problem: str | None = None  # the picks file cannot be read: no pick is shown
    contact_sheet_href: str | None = None
    contact_sheet_problem: str | None = None
    # `--output` for the commands the cards show, when the output is not the default one.
    output_root: Path | None = None

    @cached_property  # asked by the totals, the filters and the cards
    def groups(self) -> dict[str, tuple[EntryOutcome, ...]]:
        """The cards by group, groups in the order their first entry appears."""
        found: dict[str, list[EntryOutcome]] = {}
        for outcome in self.entries:
            found.setdefault(outcome.group_id, []).append(outcome)
        return {group: tuple(members) for group, members in found.items()}

    @property
    def status_counts(self) -> dict[str, int]:
        """Entries per status, in STATUS_ORDER, leaving out statuses nobody has."""
        counts = Counter(outcome.result.status for outcome in self.entries)
        return {status: counts[status] for status in STATUS_ORDER if counts[status]}

    @property
    def billed_seconds(self) -> int:
        return sum(outcome.result.billed_seconds or 0 for outcome in self.entries)

    @property
    def estimated_cost(self) -> Decimal:
        return sum((outcome.result.estimate.amount for outcome in self.entries), Decimal(0))

    @property
    def actual_cost(self) -> Decimal:
        return sum((outcome.result.cost or Decimal(0) for outcome in self.entries), Decimal(0))


def gather(
    layout: OutputLayout,
    manifest: Manifest,
    store: StateStore,
    *,
    prices: PriceTable | None = None,
    wall_time: float | None = None,
    pictures: Pictures | None = None,
    files: EntryFiles | None = None,
    memo: ReportMemo | None = None,
    results: Mapping[str, EntryResult] | None = None,
) -> ReportFacts:
    """What the page says. `pictures` (pictures.py) are linked when given; without them the
    cards show no poster or thumbnail. `files` and `memo` (folders.py) are shared with the
    pictures when given; `results` are the entries' results when already made (results.jsonl's)."""
    prices = prices or PriceTable.load()
    pictures = pictures or Pictures()
    files = files or EntryFiles(layout)
    timing = run_timing(layout.events)
    if wall_time is not None:
        timing = RunTiming(max(timing.runs, 1), wall_time, timing.retries, timing.throttled)
    picks_problem = None
    try:
        picks = read_picks(picks_path(manifest))
    except PicksInvalid as invalid:
        picks, picks_problem = {}, str(invalid)
    outcomes = tuple(
        _outcome(
            layout,
            entry,
            store.get(entry.id),
            results.get(entry.id) if results is not None else None,
            prices,
            pictures,
            picks,
            files,
            memo,
        )
        for entry in manifest.entries
    )
    world = store.world()
    root = layout.folder.parent
    return ReportFacts(
        name=manifest.name,
        manifest_path=manifest.path,
        currency=prices.currency,
        price_source=prices.source,
        entries=outcomes,
        timing=timing,
        simulated=world.simulated if world is not None else False,
        world_note=world_note(world),
        picks_file=picks_path(manifest).name,
        picks_problem=picks_problem,
        contact_sheet_href=(
            href(layout, pictures.contact_sheet) if pictures.contact_sheet is not None else None
        ),
        contact_sheet_problem=pictures.contact_sheet_problem,
        output_root=None if root == _DEFAULT_OUTPUT else root,
    )


def _outcome(
    layout: OutputLayout,
    entry: Entry,
    record: EntryRecord | None,
    result: EntryResult | None,
    prices: PriceTable,
    pictures: Pictures,
    picks: dict[str, str],
    files: EntryFiles,
    memo: ReportMemo | None,
) -> EntryOutcome:
    if result is None:
        result = entry_result(entry, record, prices)
    artifacts = _artifacts(entry.id, files)
    # Only a download the runner verified gets a player; a file left by an interrupted
    # download never has its final name, but one deleted or damaged by hand might be stale.
    video = None
    if result.video is not None:
        video = next((a.href for a in artifacts if a.name == VIDEO_FILE), None)
    poster = pictures.posters.get(entry.id)
    group = group_of(entry)
    outcome = EntryOutcome(
        entry,
        result,
        video,
        artifacts,
        poster_href=href(layout, poster.path) if isinstance(poster, Poster) else None,
        poster_problem=poster if isinstance(poster, FrameFailure) else None,
        inputs=tuple(
            _input(layout, media.type, media.path, picture)
            for media, picture in zip(
                _local_images(entry) if entry.id in pictures.inputs else (),
                pictures.inputs.get(entry.id, ()),
                strict=True,
            )
        ),
        render_seconds=render_seconds(layout, record, files=files, memo=memo),
        group=group,
        take=take_of(entry),
        picked=picks.get(group) == entry.id,
    )
    files.forget(entry.id)  # its card has what it needs: 10,000 entries' stats are not kept
    return outcome


def _artifacts(entry_id: str, files: EntryFiles) -> tuple[Artifact, ...]:
    """The files of the entry's folder worth a link, in ARTIFACT_FILES order, with their
    sizes (following links, as the page's link would)."""
    artifacts = []
    for name in ARTIFACT_FILES:
        found = files.stat(entry_id, name)
        if isinstance(found, OSError):
            continue  # not there (no folder: nothing written for the entry yet)
        if stat.S_ISREG(found.st_mode):
            artifacts.append(Artifact(name, f"{entry_id}/{name}", found.st_size))
    return tuple(artifacts)


def _local_images(entry: Entry) -> tuple[Media, ...]:
    # In the order input_thumbnails makes them.
    return tuple(m for m in entry.local_media if not m.type.is_video and m.path is not None)


def _input(
    layout: OutputLayout, role: str, path: Path | None, picture: Thumbnail | FrameFailure
) -> InputImage:
    name = path.name if path is not None else ""
    if isinstance(picture, Thumbnail):
        return InputImage(str(role), name, href=href(layout, picture.path))
    return InputImage(str(role), name, problem=picture.reason)


def render_seconds(
    layout: OutputLayout,
    record: EntryRecord | None,
    *,
    files: EntryFiles | None = None,
    memo: ReportMemo | None = None,
) -> float | None:
    """How long the render took, submit to end: from the service's own times in task.json
    (so our polling's lag is not counted), else from the state store. With `files` and a
    `memo` (folders.py), task.json is read only when it changed since the last report."""
    if record is None or record.state not in (EntryState.DONE, EntryState.SUCCEEDED):
        return None
    # Through a string path: a report asks it of every done entry.
    path = os.path.join(layout.folder, record.entry_id, TASK_FILE)
    found = files.stat(record.entry_id, TASK_FILE) if files is not None else None
    try:
        if isinstance(found, OSError):
            seconds = None  # no task.json to read
        elif found is not None and memo is not None:
            seconds = memo.recall(
                record.entry_id, TASK_FILE, found, lambda: _task_seconds(path), float
            )
        else:
            seconds = _task_seconds(path)
    except OSError:
        seconds = None
    if seconds is not None:
        return seconds
    if record.submitted_at is not None and record.finished_at is not None:
        seconds = record.finished_at - record.submitted_at
        return seconds if seconds >= 0 else None
    return None


def _task_seconds(path: str) -> float | None:
    """Submit to end by the service's times in the task.json at `path`, if it tells them;
    OSError when it cannot be read."""
    try:
        answer = json.loads(read_bytes(path))
    except ValueError:
        return None
    output = answer.get("output") if isinstance(answer, dict) else None
    if isinstance(output, dict):
        submitted = beijing_time(output.get("submit_time"))
        ended = beijing_time(output.get("end_time"))
        if submitted is not None and ended is not None and ended >= submitted:
            return (ended - submitted).total_seconds()
    return None
