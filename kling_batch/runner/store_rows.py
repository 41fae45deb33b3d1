"""How the state store's rows become records and back, and the SQL that writes one entry's row
(the store's private helpers)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from kling_batch.api.types import TaskStatus, Upload
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord
from kling_batch.runner.world import World

Row = sqlite3.Row | Mapping[str, Any]

# A record whose task id leaves the entries table (the record is replaced or dropped, or given
# another task) keeps its task claimed in known_tasks: a settle must never adopt an old render.
KEEP_CLAIM = (
    "INSERT OR IGNORE INTO known_tasks (task_id, entry_id, recorded_at)"
    " SELECT task_id, entry_id, COALESCE(submitted_at, updated_at) FROM entries"
    " WHERE entry_id = ? AND task_id IS NOT NULL"
)


def run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on a connection in autocommit mode (isolation_level=None)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# Every column of an entry's row with the value a row gets when an insert leaves it out.
_ROW_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(
        (
            "prompt_key",
            "task_id",
            "task_status",
            "request_id",
            "submitted_at",
            "finished_at",
            "video_url",
            "watermark_video_url",
            "urls_fetched_at",
            "usage",
            "billed_seconds",
            "error_code",
            "error_message",
            "fingerprint_body",
            "echo_basis",
        )
    ),
    "files": "[]",
}


def insert_entry(db: sqlite3.Connection, values: Mapping[str, Any]) -> EntryRecord:
    """Insert an entry's row (IntegrityError if it has one already); the record it holds."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO entries ({names}) VALUES ({marks})", tuple(values.values()))
    return record_of({**_ROW_DEFAULTS, **values})


def update_entry(
    db: sqlite3.Connection, entry_id: str, changes: Mapping[str, Any], where: str = "", *args: Any
) -> bool:
    """Change an entry's columns (only if `where` also holds); whether its row matched."""
    columns = ", ".join(f"{name} = ?" for name in changes)
    sql = f"UPDATE entries SET {columns} WHERE entry_id = ?{where}"
    return bool(db.execute(sql, (*changes.values(), entry_id, *args)).rowcount == 1)


def stored(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A record change's values as their columns hold them."""
    columns = dict(changes)
    if "usage" in columns:
        columns["usage"] = json.dumps(columns["usage"], sort_keys=True)
    if "files" in columns:
        columns["files"] = json.dumps([_file_json(f) for f in columns["files"]])
    return columns


def _file_json(kept: FileRecord) -> dict[str, Any]:
    value: dict[str, Any] = {"name": kept.name, "size": kept.size, "sha256": kept.sha256}
    if kept.stamp is not None:
        value["stamp"] = kept.stamp
    return value


def read_entry(db: sqlite3.Connection, entry_id: str) -> EntryRecord:
    row = db.execute("SELECT * FROM entries WHERE entry_id = ?", (entry_id,)).fetchone()
    if row is None:
        raise KeyError(entry_id)
    return record_of(row)


def records_of(cursor: sqlite3.Cursor) -> Iterator[EntryRecord]:
    """The records of the rows of a `SELECT * FROM entries`, read as plain tuples by position
    (the store reads every row at its first question: a dict or a sqlite3.Row per row, and a
    name looked up per column, cost a 10,000-entry resume a tenth of a second each). A usage,
    alike in most rows, is parsed once per distinct text."""
    position = {column[0]: index for index, column in enumerate(cursor.description)}
    absent = len(position)  # a column a read-only store from before it lacks reads as None
    pick = itemgetter(*(position.get(name, absent) for name in _RECORD_COLUMNS))
    usages: dict[str, dict[str, Any]] = {}
    for values in cursor:
        (
            entry_id,
            fingerprint,
            model,
            state,
            body_sha256,
            prompt_key,
            intent_at,
            task_id,
            task_status,
            request_id,
            submitted_at,
            finished_at,
            video_url,
            watermark_video_url,
            urls_fetched_at,
            files,
            usage_text,
            billed_seconds,
            error_code,
            error_message,
            updated_at,
            fingerprint_body,
            echo_basis,
        ) = pick((*values, None))
        usage = None
        if usage_text:
            parsed = usages.get(usage_text)
            if parsed is None:
                parsed = usages[usage_text] = _json(usage_text)
            usage = dict(parsed)  # a copy each: records share no mutable state
        basis = _json(echo_basis) if echo_basis else None
        body = _json(fingerprint_body) if fingerprint_body else None
        yield EntryRecord(
            entry_id=entry_id,
            fingerprint=fingerprint,
            model=model,
            state=_STATES[state],
            body_sha256=body_sha256,
            prompt_key=prompt_key,
            intent_at=intent_at,
            task_id=task_id,
            task_status=_TASK_STATUSES[task_status] if task_status else None,
            request_id=request_id,
            submitted_at=submitted_at,
            finished_at=finished_at,
            video_url=video_url,
            watermark_video_url=watermark_video_url,
            urls_fetched_at=urls_fetched_at,
            files=tuple(FileRecord(**item) for item in _json(files)),
            usage=usage,
            billed_seconds=billed_seconds,
            error_code=error_code,
            error_message=error_message,
            updated_at=updated_at,
            fingerprint_body=body if isinstance(body, dict) else None,
            echo_basis=EchoBasis.from_json(basis) if isinstance(basis, dict) else None,
        )


# The columns records_of reads, in the order it unpacks them.
_RECORD_COLUMNS = (
    "entry_id",
    "fingerprint",
    "model",
    "state",
    "body_sha256",
    "prompt_key",
    "intent_at",
    "task_id",
    "task_status",
    "request_id",
    "submitted_at",
    "finished_at",
    "video_url",
    "watermark_video_url",
    "urls_fetched_at",
    "files",
    "usage",
    "billed_seconds",
    "error_code",
    "error_message",
    "updated_at",
    "fingerprint_body",
    "echo_basis",
)
_STATES = {str(state): state for state in EntryState}
_TASK_STATUSES = {str(status): status for status in TaskStatus}
# The store's own JSON (no outer white space): decoded without json.loads's wrapping per call.
_json = json.JSONDecoder().decode


def record_of(row: Row) -> EntryRecord:
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
        usage=_usage(row["usage"]),
        billed_seconds=row["billed_seconds"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        updated_at=row["updated_at"],
        fingerprint_body=optional_json(row, "fingerprint_body"),
        echo_basis=basis_of(row),
    )


def _usage(value: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    return value if isinstance(value, dict) else dict(json.loads(value))


def basis_of(row: Row) -> EchoBasis | None:
    data = optional_json(row, "echo_basis")
    return None if data is None else EchoBasis.from_json(data)


def optional_json(row: Row, column: str) -> dict[str, Any] | None:
    try:
        text = row[column]
    except (IndexError, KeyError):
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


def read_upload(db: sqlite3.Connection, world: World, sha256: str, model: str) -> Upload | None:
    try:
        row = db.execute(
            "SELECT * FROM uploads WHERE service = ? AND account = ? AND sha256 = ? AND model = ?",
            (world.service, world.account, sha256, model),
        ).fetchone()
    except sqlite3.OperationalError:
        return None  # a read-only store whose cache predates worlds: unknown, so none
    if row is None:
        return None
    return Upload(
        url=row["url"],
        model=row["model"],
        sha256=row["sha256"],
        size=row["size"],
        expires_at=datetime.fromtimestamp(row["expires_at"], UTC),
    )


def write_upload(db: sqlite3.Connection, world: World, upload: Upload) -> None:
    db.execute(
        "INSERT OR REPLACE INTO uploads (service, account, sha256, model, url, size, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            world.service,
            world.account,
            upload.sha256,
            upload.model,
            upload.url,
            upload.size,
            upload.expires_at.timestamp(),
        ),
    )
