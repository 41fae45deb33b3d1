"""The plan: what `run` would do with each entry, what it would cost, and what is already done.

Built from the manifest, the state store and `decide()`, the same function `run` acts on, so the
plan a reviewer reads is the run that happens. No network: `kling-batch plan --refresh` asks the
service about tasks in flight first (kling_batch.runner.remote), then plans from what it learned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from typing import Any

from kling_batch.api.types import Upload
from kling_batch.manifest import fingerprint
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.models import renders_audio
from kling_batch.plan.model import Plan, PlannedEntry
from kling_batch.prices import Estimate, PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import Limit
from kling_batch.runner.changes import changed_fields, fingerprint_body
from kling_batch.runner.decide import REPLACEABLE, Action, decide
from kling_batch.runner.expiry import (
    UploadLookup,
    record_notices,
    upload_notices,
)
from kling_batch.runner.moves import MoveStanding, files_folder, standings
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import EntryResult, entry_result
from kling_batch.runner.state import StateStore

# States in which an entry's earlier task may still be billed when it is rendered again.
_STILL_BILLING = {
    EntryState.IN_FLIGHT: "its earlier task {task} is still in flight and is billed if it "
    "renders (`kling-batch cancel` stops it while it is PENDING)",
    EntryState.SUCCEEDED: "its earlier render (task {task}) was paid for but never downloaded",
    EntryState.SUBMITTING: "its earlier submission was never settled and may have been billed",
    EntryState.UNKNOWN: "its earlier submission was never settled and may have been billed",
}

# `--replace` names an entry whose render has not ended: run leaves it to end first.
_NOT_REPLACED = (
    "--replace: not replaced, it is {state} (task {task}); only a done, failed, canceled or "
    "expired entry is replaced: give --replace again once it has ended"
)


def build_plan(
    manifest: Manifest,
    layout: OutputLayout,
    store: StateStore | None,
    prices: PriceTable,
    *,
    entries: Sequence[Entry] | None = None,
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
    replace: Collection[str] = (),
    limit: Limit | None = None,
    now: float | None = None,
    tasks_outlive_run: bool | None = None,
) -> Plan:
    """The plan of `run` for `entries` (default: all of the manifest) with these flags;
    `replace` holds the ids `--replace` names.

    `store` None: nothing has run yet. Reads the state store and checks kept files against
    their sha256, as `run` does before skipping an entry; sends nothing anywhere. Raises
    MoveRefused when the manifest's `moved:` does not fit the output, as `run` would.
    """
    moment = time.time() if now is None else now
    world = store.world() if store is not None else None
    if tasks_outlive_run is None:
        # An output made on the in-process simulator can only be run there again.
        tasks_outlive_run = world is None or not world.in_process
    moves = standings(manifest, store)
    pricing = Pricing(prices)
    planned = tuple(
        plan_entry(
            entry,
            store.get(entry.id) if store is not None else None,
            layout,
            prices,
            uploads=store.get_upload if store is not None else _no_uploads,
            retry_failed=retry_failed,
            resubmit_unknown=resubmit_unknown,
            replace=entry.id in replace,
            move=moves.get(entry.id),
            tasks_outlive_run=tasks_outlive_run,
            now=moment,
            pricing=pricing,
        )
        for entry in (manifest.entries if entries is None else entries)
    )
    return Plan(manifest, layout.folder, planned, prices, limit, world)


def plan_entry(
    entry: Entry,
    record: EntryRecord | None,
    layout: OutputLayout,
    prices: PriceTable,
    *,
    uploads: UploadLookup,
    retry_failed: bool,
    resubmit_unknown: bool,
    now: float,
    replace: bool = False,
    move: MoveStanding | None = None,
    tasks_outlive_run: bool = True,
    pricing: Pricing | None = None,
) -> PlannedEntry:
    """`move`: the entry is the new id of a rename under `moved:`; a move still to carry is
    planned from the record it carries, whose files are still under the old id's folder.
    `pricing`: the plan's estimates, shared by its entries (default: `prices` asked anew)."""
    folder = entry.id
    moved_from = None
    if record is None and move is not None and move.pending:
        record, folder, moved_from = move.record, files_folder(layout, move.move), move.move.old_id
    intact = (
        record is not None
        and record.state is EntryState.DONE
        and layout.files_intact(folder, record.files)
    )
    action = decide(
        record,
        # A new entry is submitted whatever its body: its hash is not needed (a plan of a
        # large manifest would spend most of its time on it).
        fingerprint(entry) if record is not None else "",
        files_intact=intact,
        retry_failed=retry_failed,
        resubmit_unknown=resubmit_unknown,
        replace=replace,
        tasks_outlive_run=tasks_outlive_run,
        now=now,
    )
    sound = pricing.audio if pricing is not None else _audio
    if record is None:
        result = EntryResult(entry.id, pricing.of(entry) if pricing else prices.estimate(entry))
        notices = upload_notices(entry, uploads, now)
        note = move.note() if move is not None else None
        return PlannedEntry(entry, action, result, sound(entry), note=note, notices=notices)
    result = entry_result(entry, record, prices)
    notices = (
        ()
        if action.starts_over
        else record_notices(record, now, needs_video=action is Action.DOWNLOAD)
    )
    if action.sends:
        notices += upload_notices(entry, uploads, now)
    note = move.note() if move is not None else None
    if action is Action.RERENDER and record.state in _STILL_BILLING:
        note = _STILL_BILLING[record.state].format(task=record.task_id or "?")
    elif replace and not action.starts_over and record.state not in REPLACEABLE:
        note = _NOT_REPLACED.format(state=record.state, task=record.task_id or "not known yet")
    return PlannedEntry(
        entry,
        action,
        result,
        sound(entry),
        changed=_changes(entry, record, layout) if action is Action.RERENDER else (),
        note=note,
        notices=notices,
        moved_from=moved_from,
    )


def _changes(entry: Entry, record: EntryRecord, layout: OutputLayout) -> tuple[str, ...]:
    before = record.fingerprint_body or _sent_body(layout, entry.id)
    if before is None:
        return ()
    changes = changed_fields(before, fingerprint_body(entry))
    if not changes and record.fingerprint_body is None and entry.local_media:
        # Compared with the body sent, whose local files are temporary URLs: what differs
        # (the fingerprint says something does) can only be a file's content.
        return ("media (a local file's content)",)
    return changes


def _sent_body(layout: OutputLayout, entry_id: str) -> dict[str, Any] | None:
    """The exact body last sent (request.json), for records that kept no fingerprinted body."""
    try:
        value = json.loads(layout.request_file(entry_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _no_uploads(sha256: str, model: str) -> Upload | None:
    return None


class Pricing:
    """A price table's estimates and the models' sound, each worked out once per model, mode,
    audio and duration: the entries of a large manifest share a handful."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.estimates: dict[tuple[str, str | None, bool | None, int | None], Estimate] = {}
        self.sound: dict[tuple[str, bool | None], bool] = {}

    def of(self, entry: Entry) -> Estimate:
        key = (entry.model, entry.mode, entry.audio, entry.duration)
        found = self.estimates.get(key)
        if found is None:
            found = self.estimates[key] = self.prices.estimate(entry)
        return found

    def audio(self, entry: Entry) -> bool:
        key = (entry.model, entry.audio)
        found = self.sound.get(key)
        if found is None:
            found = self.sound[key] = _audio(entry)
        return found


def _audio(entry: Entry) -> bool:
    return renders_audio(entry.model, entry.audio)  # turbo always has sound
