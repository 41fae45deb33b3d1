"""The plan: what `run` would do with each entry, what it would cost, and what is already done.

Built from the manifest, the state store and `decide()`, the same function `run` acts on, so the
plan a reviewer reads is the run that happens. No network: `kling-batch plan --refresh` asks the
service about tasks in flight first (kling_batch.runner.remote), then plans from what it learned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from kling_batch.api.types import Upload
from kling_batch.manifest import fingerprint
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.plan.model import Plan, PlannedEntry
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import Limit
from kling_batch.runner.changes import changed_fields, fingerprint_body
from kling_batch.runner.decide import Action, decide
from kling_batch.runner.expiry import (
    UploadLookup,
    record_notices,
    upload_notices,
)
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.results import entry_result
from kling_batch.runner.state import StateStore

# States in which an entry's earlier task may still be billed when it is rendered again.
_STILL_BILLING = {
    EntryState.IN_FLIGHT: "its earlier task {task} is still in flight and is billed if it "
    "renders (`kling-batch cancel` stops it while it is PENDING)",
    EntryState.SUCCEEDED: "its earlier render (task {task}) was paid for but never downloaded",
    EntryState.SUBMITTING: "its earlier submission was never settled and may have been billed",
    EntryState.UNKNOWN: "its earlier submission was never settled and may have been billed",
}


def build_plan(
    manifest: Manifest,
    layout: OutputLayout,
    store: StateStore | None,
    prices: PriceTable,
    *,
    entries: Sequence[Entry] | None = None,
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
    limit: Limit | None = None,
    now: float | None = None,
    tasks_outlive_run: bool | None = None,
) -> Plan:
    """The plan of `run` for `entries` (default: all of the manifest) with these flags.

    `store` None: nothing has run yet. Reads the state store and checks kept files against
    their sha256, as `run` does before skipping an entry; sends nothing anywhere.
    """
    moment = time.time() if now is None else now
    world = store.world() if store is not None else None
    if tasks_outlive_run is None:
        # An output made on the in-process simulator can only be run there again.
        tasks_outlive_run = world is None or not world.in_process
    planned = tuple(
        plan_entry(
            entry,
            store.get(entry.id) if store is not None else None,
            layout,
            prices,
            uploads=store.get_upload if store is not None else _no_uploads,
            retry_failed=retry_failed,
            resubmit_unknown=resubmit_unknown,
            tasks_outlive_run=tasks_outlive_run,
            now=moment,
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
    tasks_outlive_run: bool = True,
) -> PlannedEntry:
    intact = (
        record is not None
        and record.state is EntryState.DONE
        and layout.files_intact(entry.id, record.files)
    )
    action = decide(
        record,
        fingerprint(entry),
        files_intact=intact,
        retry_failed=retry_failed,
        resubmit_unknown=resubmit_unknown,
        tasks_outlive_run=tasks_outlive_run,
        now=now,
    )
    result = entry_result(entry, record, prices)
    if record is None:
        notices = upload_notices(entry, uploads, now)
        return PlannedEntry(entry, action, result, notices=notices)
    notices = (
        ()
        if action.starts_over
        else record_notices(record, now, needs_video=action is Action.DOWNLOAD)
    )
    if action.sends:
        notices += upload_notices(entry, uploads, now)
    note = None
    if action is Action.RERENDER and record.state in _STILL_BILLING:
        note = _STILL_BILLING[record.state].format(task=record.task_id or "?")
    return PlannedEntry(
        entry,
        action,
        result,
        changed=_changes(entry, record, layout) if action is Action.RERENDER else (),
        note=note,
        notices=notices,
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
