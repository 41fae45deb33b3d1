"""`export`: the done videos copied to a delivery folder, each verified, with the sheets.

    result = export(manifest, layout, to=Path("handoff"), picked=True)

Everything that can be refused is refused before the first byte is copied (an unknown name
field, two videos under one name, a file in the way with other bytes, nothing to deliver):
`ExportRefused`, and the folder is as it was. Then each video is copied through a temporary
name, hashed as it is read, and renamed into place only when its bytes are the ones the state
store recorded when the runner downloaded it. A copy cut short (a full disk, a kill) leaves no
file under the final name, and a source changed since (edited, damaged, swapped) is refused:
`CopyFailure`, with the other videos delivered.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from kling_batch.delivery.groups import grouped
from kling_batch.delivery.names import (
    DEFAULT_NAME,
    NameRefused,
    check_template,
    file_name,
    name_fields,
    refuse_collisions,
)
from kling_batch.delivery.picks import PicksInvalid, picks_path, read_picks
from kling_batch.delivery.sheet import delivery_row, rendered, write_sheets
from kling_batch.delivery.videos import DoneVideo, Unavailable, deliverable_video
from kling_batch.hashing import sha256_file
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.records import EntryRecord
from kling_batch.runner.state import StateStore
from kling_batch.runner.world import world_note

_CHUNK = 1 << 20


class ExportRefused(Exception):
    """The export cannot start (the message says why and what to change); nothing was copied.
    `warnings` are those gathered before the refusal (what was left out, and why)."""

    def __init__(self, message: str, warnings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.warnings = warnings


@dataclass(frozen=True)
class Delivered:
    entry_id: str
    path: Path
    copied: bool  # False: the same bytes were already there


@dataclass(frozen=True)
class CopyFailure:
    """A video not delivered because its source did not match the recorded render, or the copy
    could not be written; no file is left under its name."""

    entry_id: str
    reason: str


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    delivered: tuple[Delivered, ...]
    failures: tuple[CopyFailure, ...]
    warnings: tuple[str, ...]
    sheets: tuple[Path, Path]  # delivery.csv, delivery.json


@dataclass(frozen=True)
class _Planned:
    entry: Entry
    record: EntryRecord
    video: DoneVideo
    target: Path
    present: bool  # the target already holds exactly these bytes


def export(
    manifest: Manifest,
    layout: OutputLayout,
    to: Path,
    *,
    picked: bool = False,
    name_template: str = DEFAULT_NAME,
    force: bool = False,
    prices: PriceTable | None = None,
) -> ExportResult:
    """Copy the done videos of `manifest` in `layout` to `to` (with `picked`, only each group's
    pick), and write delivery.csv and delivery.json there for what was delivered."""
    prices = prices or PriceTable.load()
    try:
        check_template(name_template)
    except NameRefused as refused:
        raise ExportRefused(str(refused)) from None
    if not layout.state.exists():
        raise ExportRefused(
            f"{layout.folder} holds no run of {manifest.path.name}; pass the --output folder "
            "it was run with"
        )
    store = StateStore(layout.state, readonly=True)  # a run may be writing beside us
    try:
        records = {record.entry_id: record for record in store.all()}
        note = world_note(store.world())
    finally:
        store.close()
    chosen, warnings = _select(manifest, layout, records, picked)
    if note:
        warnings.insert(0, note)
    if not chosen:
        what = "no group has a done pick" if picked else "no entry is done"
        raise ExportRefused(f"nothing to export from {layout.folder}: {what}", tuple(warnings))
    planned = _plan(chosen, records, to, name_template, force)
    to.mkdir(parents=True, exist_ok=True)
    delivered: list[Delivered] = []
    failures: list[CopyFailure] = []
    rows = []
    for item in planned:
        if not item.present:
            problem = copy_verified(item.video, item.target)
            if problem is not None:
                failures.append(CopyFailure(item.entry.id, problem))
                continue
        delivered.append(Delivered(item.entry.id, item.target, copied=not item.present))
        rows.append(
            delivery_row(
                item.entry,
                item.record,
                item.target.name,
                item.video.size,
                item.video.sha256,
                prices,
            )
        )
    sheets = write_sheets(to, rows)
    return ExportResult(to, tuple(delivered), tuple(failures), tuple(warnings), sheets)


def copy_verified(video: DoneVideo, target: Path) -> str | None:
    """Copy `video` to `target` through a temporary name, renamed into place only when the
    bytes read are the recorded ones. None when done, else why not (nothing left at `target`)."""
    temporary = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    copied = 0
    try:
        with video.path.open("rb") as source, temporary.open("wb") as copy:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                copy.write(chunk)
                copied += len(chunk)
            copy.flush()
            os.fsync(copy.fileno())
        if copied != video.size or digest.hexdigest() != video.sha256:
            return (
                f"{video.path} is not the render the state store recorded (sha256 "
                f"{video.sha256[:12]}..., {video.size} bytes; found {digest.hexdigest()[:12]}..., "
                f"{copied} bytes): changed or damaged since; run the manifest again to fetch it"
            )
        os.replace(temporary, target)
        return None
    except OSError as problem:
        return f"cannot copy {video.path} to {target}: {problem.strerror or problem}"
    finally:
        temporary.unlink(missing_ok=True)


def _select(
    manifest: Manifest, layout: OutputLayout, records: dict[str, EntryRecord], picked: bool
) -> tuple[list[tuple[Entry, DoneVideo]], list[str]]:
    """The entries to deliver with their videos, and warnings about those left out."""
    warnings: list[str] = []
    if picked:
        candidates, warnings = _picked_entries(manifest)
    else:
        candidates = list(manifest.entries)
    chosen: list[tuple[Entry, DoneVideo]] = []
    left_out: list[Unavailable] = []
    for entry in candidates:
        video = deliverable_video(layout, entry, records.get(entry.id))
        if isinstance(video, Unavailable):
            left_out.append(video)
        else:
            chosen.append((entry, video))
    if left_out:
        reasons = "; ".join(f"{item.entry_id}: {item.reason}" for item in left_out)
        warnings.append(f"left out, {len(left_out)} not deliverable: {reasons}")
    return chosen, warnings


def _picked_entries(manifest: Manifest) -> tuple[list[Entry], list[str]]:
    path = picks_path(manifest)
    try:
        picks = read_picks(path)
    except PicksInvalid as invalid:
        raise ExportRefused(str(invalid)) from None
    groups = grouped(manifest.entries)
    entries: list[Entry] = []
    unpicked: list[str] = []
    warnings: list[str] = []
    for group, members in groups.items():
        choice = picks.get(group)
        member = next((e for e in members if e.id == choice), None)
        if choice is None:
            unpicked.append(group)
        elif member is None:
            warnings.append(
                f"{path.name}: the pick of group {group}, `{choice}`, is not one of its "
                "entries; the group is left out"
            )
        else:
            entries.append(member)
    stale = sorted(set(picks) - set(groups))
    if stale:
        warnings.append(
            f"{path.name} picks for groups the manifest no longer has: {', '.join(stale)}"
        )
    if unpicked:
        warnings.append(
            f"left out, {len(unpicked)} group(s) without a pick: {', '.join(unpicked)} "
            "(kling-batch pick MANIFEST ENTRY_ID)"
        )
    return entries, warnings


def _plan(
    chosen: list[tuple[Entry, DoneVideo]],
    records: dict[str, EntryRecord],
    to: Path,
    template: str,
    force: bool,
) -> list[_Planned]:
    """Name every copy and look at what is in the way, before anything is written."""
    named: list[tuple[Entry, DoneVideo, str]] = []
    try:
        for entry, video in chosen:
            values = name_fields(entry, rendered(entry, records[entry.id]))
            named.append((entry, video, file_name(template, entry, values)))
        refuse_collisions(((entry.id, name) for entry, _, name in named), template)
    except NameRefused as refused:
        raise ExportRefused(str(refused)) from None
    planned: list[_Planned] = []
    in_the_way: list[str] = []
    for entry, video, name in named:
        target = to / name
        present = False
        if target.exists() or target.is_symlink():
            if not target.is_file() or target.is_symlink():
                raise ExportRefused(f"{target} is in the way and is not a plain file")
            present = target.stat().st_size == video.size and sha256_file(target) == video.sha256
            if not present and not force:
                in_the_way.append(name)
        planned.append(_Planned(entry, records[entry.id], video, target, present))
    if in_the_way:
        raise ExportRefused(
            f"{to} already has other files under these names: {', '.join(in_the_way)}; "
            "pass --force to replace them, or export to another folder"
        )
    return planned
