"""What the report says: each entry's outcome and the run's totals, gathered from the output.

Each card holds the entry's `EntryResult`, the very object results.jsonl is written from, so
the report and results.jsonl can never disagree on a number. Wall time comes from events.jsonl,
because a campaign is often run several times (resumed after Ctrl-C, retried) and the state
store keeps no timings of the runs themselves. Groups and picks come from delivery/ (the one
place that says what a group is), pictures from pictures.py (made before the page).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from kling_batch.api.decode import beijing_time
from kling_batch.api.errors import is_throttling_code
from kling_batch.delivery.groups import group_of, take_of
from kling_batch.delivery.picks import PicksInvalid, picks_path, read_picks
from kling_batch.manifest.model import Entry, Manifest, Media
from kling_batch.prices import PriceTable
from kling_batch.report.frames import FrameFailure, Poster, Thumbnail
from kling_batch.report.pictures import Pictures, href
from kling_batch.runner.artifacts import TASK_FILE, OutputLayout, read_bytes
from kling_batch.runner.events import EventKind
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import (
    PENDING,
    VIDEO_FILE,
    EntryResult,
    RememberedPrices,
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
_LINKED = frozenset(ARTIFACT_FILES)
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
class RunTiming:
    """How long the runs of this output took, from events.jsonl."""

    runs: int = 0
    wall_seconds: float | None = None
    retries: int = 0
    throttled: int = 0  # retries the service asked for with 429 Throttling*


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
) -> ReportFacts:
    """What the page says. `pictures` (pictures.py) are linked when given; without them the
    cards show no poster or thumbnail."""
    prices = prices or PriceTable.load()
    pictures = pictures or Pictures()
    timing = run_timing(layout.events)
    if wall_time is not None:
        timing = RunTiming(max(timing.runs, 1), wall_time, timing.retries, timing.throttled)
    picks_problem = None
    try:
        picks = read_picks(picks_path(manifest))
    except PicksInvalid as invalid:
        picks, picks_problem = {}, str(invalid)
    remembered = RememberedPrices(prices)
    outcomes = tuple(
        _outcome(layout, entry, store.get(entry.id), remembered, pictures, picks)
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
    prices: RememberedPrices,
    pictures: Pictures,
    picks: dict[str, str],
) -> EntryOutcome:
    result = entry_result(entry, record, prices)
    artifacts = _artifacts(layout, entry.id)
    # Only a download the runner verified gets a player; a file left by an interrupted
    # download never has its final name, but one deleted or damaged by hand might be stale.
    video = None
    if result.video is not None:
        video = next((a.href for a in artifacts if a.name == VIDEO_FILE), None)
    poster = pictures.posters.get(entry.id)
    group = group_of(entry)
    return EntryOutcome(
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
        render_seconds=render_seconds(layout, record),
        group=group,
        take=take_of(entry),
        picked=picks.get(group) == entry.id,
    )


def _artifacts(layout: OutputLayout, entry_id: str) -> tuple[Artifact, ...]:
    """The files of the entry's folder worth a link, in ARTIFACT_FILES order: one listing of
    the folder, and a stat of each file found (a report of 10,000 cards asks it of each)."""
    try:
        with os.scandir(os.path.join(layout.folder, entry_id)) as listing:
            found = {item.name: item for item in listing if item.name in _LINKED}
    except OSError:
        return ()  # no folder: nothing written for the entry yet
    artifacts = []
    for name in ARTIFACT_FILES:
        item = found.get(name)
        if item is None:
            continue
        try:
            if item.is_file():  # following a link, as the page's link would
                artifacts.append(Artifact(name, f"{entry_id}/{name}", item.stat().st_size))
        except OSError:
            continue  # gone since the listing
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


def render_seconds(layout: OutputLayout, record: EntryRecord | None) -> float | None:
    """How long the render took, submit to end: from the service's own times in task.json
    (so our polling's lag is not counted), else from the state store."""
    if record is None or record.state not in (EntryState.DONE, EntryState.SUCCEEDED):
        return None
    try:
        # Through a string path: a report asks it of every done entry.
        answer = json.loads(read_bytes(os.path.join(layout.folder, record.entry_id, TASK_FILE)))
    except (OSError, ValueError):
        answer = None
    output = answer.get("output") if isinstance(answer, dict) else None
    if isinstance(output, dict):
        submitted = beijing_time(output.get("submit_time"))
        ended = beijing_time(output.get("end_time"))
        if submitted is not None and ended is not None and ended >= submitted:
            return (ended - submitted).total_seconds()
    if record.submitted_at is not None and record.finished_at is not None:
        seconds = record.finished_at - record.submitted_at
        return seconds if seconds >= 0 else None
    return None


def run_timing(events_path: Path) -> RunTiming:
    """Wall time summed over every run in the log; a run cut short (kill -9) counts up to its
    last event.

    Only the lines that can be a run's start or end or a retry are parsed (the log of a large
    batch holds several lines per entry and run); a run cut short looks back for its last
    timestamp. A torn or foreign line counts for nothing, as ever."""
    try:
        lines = events_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return RunTiming()
    runs = 0
    wall = 0.0
    retries = throttled = 0
    started: float | None = None
    last_seen: float | None = None
    seen_at = -1  # the line last_seen is from: what lies after it is looked at when needed

    def last_before(index: int) -> float | None:
        """The timestamp of the last event before line `index` of the run in progress."""
        for number in range(index - 1, seen_at, -1):
            at = _float(_event(lines[number]).get("ts"))
            if at is not None:
                return at
        return last_seen

    for index, line in enumerate(lines):
        if _TIMED.search(line) is None:
            continue  # its timestamp only: read from here when a run turns out cut short
        event = _event(line)
        kind = event.get("event")
        if kind not in _TIMED_KINDS:
            continue
        at = _float(event.get("ts"))
        if kind == EventKind.RUN_STARTED:
            if started is not None:
                wall += max(0.0, (last_before(index) or started) - started)
            runs += 1
            started = last_seen = at
            seen_at = index
            continue
        if at is not None:
            last_seen, seen_at = at, index
        if kind == EventKind.RETRY:
            retries += 1
            code = event.get("code")
            if is_throttling_code(code if isinstance(code, str) else None):
                throttled += 1
        elif kind == EventKind.RUN_FINISHED and started is not None:
            elapsed = _float(event.get("elapsed"))
            wall += elapsed if elapsed is not None else max(0.0, (at or started) - started)
            started = last_seen = None
    if started is not None:
        wall += max(0.0, (last_before(len(lines)) or started) - started)
    return RunTiming(runs, wall if runs else None, retries, throttled)


# The kinds the timing reads, and how each shows in its line (JSON escapes a quote in a value,
# so a value never shows its kind's name between bare quotes unless it is that very name).
_TIMED_KINDS = (EventKind.RUN_STARTED, EventKind.RUN_FINISHED, EventKind.RETRY)
_TIMED = re.compile("|".join(f'"{kind}"' for kind in _TIMED_KINDS))


def _event(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}  # torn by a crash mid-write
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
