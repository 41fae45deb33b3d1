"""How the state store's rows become records and back (the store's private helpers)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from kling_batch.api.types import TaskStatus
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord


def run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def record_of(row: sqlite3.Row) -> EntryRecord:
    return EntryRecord(
        entry_id=row["entry_id"],
        fingerprint=row["fingerprint"],
        model=row["model"],
        state=EntryState(row["state"]),
        body_sha256=row["body_sha256"],
        prompt_key=row["prompt_key"],
        intent_at=row["intent_at"],
        task_id=row["task_id"],
        task_status=TaskStatus(row["task_status"]) if row["task_status"] else None,
        request_id=row["request_id"],
        submitted_at=row["submitted_at"],
        finished_at=row["finished_at"],
        video_url=row["video_url"],
        watermark_video_url=row["watermark_video_url"],
        urls_fetched_at=row["urls_fetched_at"],
        files=tuple(FileRecord(**item) for item in json.loads(row["files"])),
        usage=json.loads(row["usage"]) if row["usage"] else None,
        billed_seconds=row["billed_seconds"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        updated_at=row["updated_at"],
        fingerprint_body=optional_json(row, "fingerprint_body"),
        echo_basis=basis_of(row),
    )


def basis_of(row: sqlite3.Row) -> EchoBasis | None:
    data = optional_json(row, "echo_basis")
    return None if data is None else EchoBasis.from_json(data)


def optional_json(row: sqlite3.Row, column: str) -> dict[str, Any] | None:
    try:
        text = row[column]
    except IndexError:
        return None  # a read-only store is never migrated: a later column may be missing
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def json_or_none(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def carry_entry(db: sqlite3.Connection, old_id: str, new_id: str) -> None:
    """Inside the caller's transaction: `old_id`'s row and history become `new_id`'s
    (StateStore.carry_record). Nothing to do when only `new_id` has a row (already carried)."""
    has = {
        str(row[0])
        for row in db.execute(
            "SELECT entry_id FROM entries WHERE entry_id IN (?, ?)", (old_id, new_id)
        )
    }
    if has == {new_id}:
        return
    if not has:
        raise KeyError(old_id)
    if has == {old_id, new_id}:
        raise ValueError(f"both {old_id} and {new_id} have a record: neither is carried")
    db.execute("UPDATE entries SET entry_id = ? WHERE entry_id = ?", (new_id, old_id))
    db.execute("UPDATE known_tasks SET entry_id = ? WHERE entry_id = ?", (new_id, old_id))
    db.execute(
        "UPDATE OR IGNORE superseded_attempts SET entry_id = ? WHERE entry_id = ?",
        (new_id, old_id),
    )
