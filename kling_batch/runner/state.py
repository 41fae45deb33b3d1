"""The run's memory: one SQLite database per manifest output, crash-safe by construction.

This is the only module that knows SQL; the runner asks it questions by name. The database runs
in WAL mode with `synchronous=FULL`, so every committed write survives kill -9 and power loss:
the submit intent is on disk before the POST leaves, and the task id right after it returns.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from kling_batch.api.types import Task, TaskStatus, Upload
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.world import World, legacy_world

STATE_FILE = "state.sqlite3"
# How long DashScope answers queries of a task id ("A task id is queryable for 24 hours").
TASK_ID_HOURS = 24
# The error code of an entry whose create's answer was lost and that the task list could not
# settle yet: a later look may (see runner/reconcile.py).
UNSETTLED = "SubmissionUnsettled"


class EntryState(StrEnum):
    """Where one entry stands, as far as this machine knows."""

    SUBMITTING = "submitting"  # intent recorded; the create's answer is not (yet) known
    IN_FLIGHT = "in_flight"  # task id known, PENDING or RUNNING remotely
    SUCCEEDED = "succeeded"  # rendered remotely; download not finished
    DONE = "done"  # files downloaded and verified
    FAILED = "failed"  # rejected, failed or moderated: an entry-level failure
    CANCELED = "canceled"
    EXPIRED = "expired"  # the task is gone (UNKNOWN / older than 24 h) before its files were kept
    UNKNOWN = "unknown"  # a submission that could not be settled: maybe billed, maybe not

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATES


_FINAL_STATES = frozenset(
    {EntryState.DONE, EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED}
)


@dataclass(frozen=True)
class FileRecord:
    """A downloaded, verified file of an entry, relative to the entry's folder."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EntryRecord:
    entry_id: str
    fingerprint: str
    model: str
    state: EntryState
    body_sha256: str
    prompt_key: str | None  # what the service echoes as orig_prompt, for reconciliation
    intent_at: float  # epoch seconds of the latest submit intent
    task_id: str | None = None
    task_status: TaskStatus | None = None
    request_id: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    video_url: str | None = None
    watermark_video_url: str | None = None
    urls_fetched_at: float | None = None
    files: tuple[FileRecord, ...] = ()
    usage: dict[str, Any] | None = field(default=None, compare=False)
    billed_seconds: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    updated_at: float = 0.0
    # What the fingerprint hashes (the body, local files as content hashes), so that `plan` can
    # say which fields changed since this render. None in records written before it was kept.
    fingerprint_body: dict[str, Any] | None = field(default=None, compare=False)
    # What of the body sent could come back as orig_prompt (for reconciliation).
    echo_basis: EchoBasis | None = field(default=None, compare=False)

    @property
    def basis(self) -> EchoBasis:
        """The echo basis; for a record from before it was kept, what prompt_key tells."""
        if self.echo_basis is not None:
            return self.echo_basis
        return EchoBasis(prompt=self.prompt_key, storyboard=self.prompt_key is None)

    @property
    def unsettled(self) -> bool:
        """A create whose answer was lost, not yet matched (or not) to a task in the list."""
        return self.state is EntryState.SUBMITTING or (
            self.state is EntryState.UNKNOWN and self.error_code == UNSETTLED
        )


class TaskClaimed(Exception):
    """A task id already recorded for another entry: adopting it would give one render to two."""


_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        entry_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        model TEXT NOT NULL,
        state TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        prompt_key TEXT,
        intent_at REAL NOT NULL,
        task_id TEXT UNIQUE,
        task_status TEXT,
        request_id TEXT,
        submitted_at REAL,
        finished_at REAL,
        video_url TEXT,
        watermark_video_url TEXT,
        urls_fetched_at REAL,
        files TEXT NOT NULL DEFAULT '[]',
        usage TEXT,
        billed_seconds INTEGER,
        error_code TEXT,
        error_message TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE uploads (
        sha256 TEXT NOT NULL,
        model TEXT NOT NULL,
        url TEXT NOT NULL,
        size INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (sha256, model)
    );
    """,
    """
    ALTER TABLE entries ADD COLUMN fingerprint_body TEXT
    """,
    # Every task id this output ever recorded, kept when an entry's record is dropped (re-render,
    # retry): a settle must never adopt an old render as the answer to a new create.
    """
    CREATE TABLE known_tasks (
        task_id TEXT PRIMARY KEY,
        entry_id TEXT NOT NULL,
        recorded_at REAL NOT NULL
    );
    INSERT OR IGNORE INTO known_tasks (task_id, entry_id, recorded_at)
        SELECT task_id, entry_id, updated_at FROM entries WHERE task_id IS NOT NULL
    """,
    # The output's world (runner/world.py); uploads are kept per world, and the old cache, whose
    # world is unknown, is dropped (a file is simply uploaded again). Echo observations: how the
    # service echoed the prompts of this output's own tasks, per model and body kind.
    """
    CREATE TABLE world (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        service TEXT NOT NULL,
        simulated INTEGER NOT NULL,
        account TEXT NOT NULL,
        recorded_at REAL NOT NULL
    );
    DROP TABLE uploads;
    CREATE TABLE uploads (
        service TEXT NOT NULL,
        account TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        model TEXT NOT NULL,
        url TEXT NOT NULL,
        size INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (service, account, sha256, model)
    );
    CREATE TABLE echoes (
        model TEXT NOT NULL,
        kind TEXT NOT NULL,
        mode TEXT NOT NULL,
        seen INTEGER NOT NULL,
        PRIMARY KEY (model, kind, mode)
    );
    ALTER TABLE entries ADD COLUMN echo_basis TEXT
    """,
)


class StateStore:
    """Per-entry records and the upload cache of one manifest's output folder."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            uri = f"file:{path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        self._db.row_factory = sqlite3.Row

    @classmethod
    def open_folder(cls, folder: Path, *, readonly: bool = False) -> StateStore:
        return cls(folder / STATE_FILE, readonly=readonly)

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                _run_script(self._db, script)
                self._db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- questions -------------------------------------------------------------------------

    def get(self, entry_id: str) -> EntryRecord | None:
        row = self._db.execute("SELECT * FROM entries WHERE entry_id = ?", (entry_id,)).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[EntryRecord]:
        rows = self._db.execute("SELECT * FROM entries ORDER BY entry_id").fetchall()
        return [_record(row) for row in rows]

    def unsettled(self, model: str) -> list[EntryRecord]:
        """The entries of a model whose create's answer was lost and is not settled yet."""
        rows = self._db.execute(
            "SELECT * FROM entries WHERE model = ?"
            " AND (state = ? OR (state = ? AND error_code = ?))",
            (model, EntryState.SUBMITTING, EntryState.UNKNOWN, UNSETTLED),
        ).fetchall()
        return [_record(row) for row in rows]

    def echo_modes(self, model: str, kind: str) -> frozenset[EchoMode]:
        """How the service echoed the prompts of this output's own tasks of a model and kind."""
        rows = self._db.execute(
            "SELECT mode FROM echoes WHERE model = ? AND kind = ?", (model, kind)
        ).fetchall()
        return frozenset(EchoMode(row[0]) for row in rows)

    def world(self) -> World | None:
        """The world this output's records belong to; None for an output with no records yet.
        A store from before worlds were recorded tells what it can (runner/world.py)."""
        try:
            row = self._db.execute(
                "SELECT service, simulated, account FROM world WHERE id = 1"
            ).fetchone()
        except sqlite3.OperationalError:
            row = None  # a read-only store from before the world table
        if row is not None:
            return World(str(row[0]), bool(row[1]), str(row[2]))
        if self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM known_tasks)"
        ).fetchone()[0]:
            urls = self._db.execute(
                "SELECT video_url FROM entries WHERE video_url IS NOT NULL"
            ).fetchall()
            return legacy_world(str(row[0]) for row in urls)
        return None

    def claimed_task_ids(self) -> set[str]:
        """Every task id this output ever recorded, for any entry, current or superseded."""
        rows = self._db.execute("SELECT task_id FROM known_tasks")
        return {str(row[0]) for row in rows}

    # -- changes ---------------------------------------------------------------------------

    def record_intent(
        self,
        entry_id: str,
        *,
        fingerprint: str,
        model: str,
        body_sha256: str,
        basis: EchoBasis,
        fingerprint_body: Mapping[str, Any] | None = None,
    ) -> EntryRecord:
        """Durably note that a create is about to be sent, before it is sent."""
        now = time.time()
        with self._transaction():
            self._db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))
            self._db.execute(
                "INSERT INTO entries (entry_id, fingerprint, model, state, body_sha256, prompt_key,"
                " intent_at, updated_at, fingerprint_body, echo_basis)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry_id,
                    fingerprint,
                    model,
                    EntryState.SUBMITTING,
                    body_sha256,
                    basis.prompt,
                    now,
                    now,
                    _json_or_none(fingerprint_body),
                    _json_or_none(basis.to_json()),
                ),
            )
        return self._must_get(entry_id)

    def record_world(self, world: World) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO world (id, service, simulated, account, recorded_at)"
                " VALUES (1, ?, ?, ?, ?)",
                (world.service, int(bool(world.simulated)), world.account, time.time()),
            )

    def observe_echo(self, model: str, kind: str, mode: EchoMode) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO echoes (model, kind, mode, seen) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (model, kind, mode) DO UPDATE SET seen = seen + 1",
                (model, kind, mode),
            )

    def record_submitted(self, entry_id: str, task: Task) -> EntryRecord:
        """Durably note the task id the create answered with (or reconciliation adopted).

        Raises TaskClaimed if another entry already holds that task."""
        now = time.time()
        with self._transaction():
            holder = self._db.execute(
                "SELECT entry_id FROM known_tasks WHERE task_id = ?", (task.task_id,)
            ).fetchone()
            if holder is not None and holder[0] != entry_id:
                raise TaskClaimed(f"task {task.task_id} belongs to entry {holder[0]}")
            self._db.execute(
                "INSERT OR IGNORE INTO known_tasks (task_id, entry_id, recorded_at)"
                " VALUES (?, ?, ?)",
                (task.task_id, entry_id, now),
            )
            self._set(
                entry_id,
                state=EntryState.IN_FLIGHT,
                task_id=task.task_id,
                task_status=task.status,
                request_id=task.request_id,
                submitted_at=now,
            )
        return (
            self.record_task(entry_id, task)
            if task.status.is_terminal
            else self._must_get(entry_id)
        )

    def record_task(self, entry_id: str, task: Task) -> EntryRecord:
        """Fold a task snapshot into the entry's record; the status decides the entry's state."""
        changes: dict[str, Any] = {"task_status": task.status}
        if task.request_id:
            changes["request_id"] = task.request_id
        if task.status is TaskStatus.SUCCEEDED:
            changes.update(
                state=EntryState.SUCCEEDED,
                video_url=task.video_url,
                watermark_video_url=task.watermark_video_url,
                urls_fetched_at=time.time(),
                finished_at=_epoch(task.end_time),
            )
            if task.usage is not None:
                changes["usage"] = json.dumps(_usage_dict(task), sort_keys=True)
                changes["billed_seconds"] = task.usage.duration
        elif task.status is TaskStatus.FAILED:
            changes.update(
                state=EntryState.FAILED,
                error_code=task.code or "TaskFailed",
                error_message=task.message or "the task failed without a message",
                finished_at=_epoch(task.end_time),
            )
        elif task.status is TaskStatus.CANCELED:
            changes.update(state=EntryState.CANCELED, finished_at=_epoch(task.end_time))
        elif task.status is TaskStatus.UNKNOWN:
            record = self._must_get(entry_id)
            if _task_age_hours(record) >= TASK_ID_HOURS:
                changes.update(
                    state=EntryState.EXPIRED,
                    error_code="TaskExpired",
                    error_message=_expired_message(record, task.task_id),
                )
            else:
                # Too young to have expired: this service does not know the task at all (another
                # account, region or base URL, or a simulator that started afresh). Whether it
                # renders elsewhere cannot be told from here, so it is not sent again blindly.
                changes.update(
                    state=EntryState.UNKNOWN,
                    error_code="TaskNotFound",
                    error_message=f"the service does not know task {task.task_id}, submitted "
                    f"{_task_age_hours(record) * 60:.0f} min ago (another account, region or "
                    "base URL?); check, then `run --resubmit-unknown` renders it again",
                )
        else:
            changes["state"] = EntryState.IN_FLIGHT
        self._update(entry_id, **changes)
        return self._must_get(entry_id)

    def record_files(self, entry_id: str, files: tuple[FileRecord, ...]) -> EntryRecord:
        payload = json.dumps([f.__dict__ for f in files])
        self._update(entry_id, state=EntryState.DONE, files=payload)
        return self._must_get(entry_id)

    def record_failure(
        self,
        entry_id: str,
        *,
        code: str,
        message: str,
        request_id: str | None = None,
        state: EntryState = EntryState.FAILED,
    ) -> EntryRecord:
        changes: dict[str, Any] = {"state": state, "error_code": code, "error_message": message}
        if request_id:
            changes["request_id"] = request_id
        self._update(entry_id, **changes)
        return self._must_get(entry_id)

    def record_rejection(
        self,
        entry_id: str,
        *,
        fingerprint: str,
        model: str,
        code: str,
        message: str,
        request_id: str | None = None,
        fingerprint_body: Mapping[str, Any] | None = None,
    ) -> EntryRecord:
        """An entry refused before any create was sent (its local media was rejected)."""
        now = time.time()
        with self._transaction():
            self._db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))
            self._db.execute(
                "INSERT INTO entries (entry_id, fingerprint, model, state, body_sha256, intent_at,"
                " error_code, error_message, request_id, updated_at, fingerprint_body)"
                " VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
                (
                    entry_id,
                    fingerprint,
                    model,
                    EntryState.FAILED,
                    now,
                    code,
                    message,
                    request_id,
                    now,
                    _json_or_none(fingerprint_body),
                ),
            )
        return self._must_get(entry_id)

    def forget(self, entry_id: str) -> None:
        """Drop an entry's record (its content changed: it will be rendered again)."""
        with self._transaction():
            self._db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))

    # -- the upload cache (kling_batch.api.UploadCache), one per world ----------------------

    def get_upload(self, sha256: str, model: str, world: World | None = None) -> Upload | None:
        """A cached upload of this world (default: the output's recorded one)."""
        world = world or self.world()
        if world is None or not world.complete:
            return None
        try:
            row = self._db.execute(
                "SELECT * FROM uploads WHERE service = ? AND account = ? AND sha256 = ?"
                " AND model = ?",
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

    def put_upload(self, upload: Upload, world: World | None = None) -> None:
        """Cache an upload of this world (default: the output's recorded one)."""
        world = world or self.world()
        if world is None or not world.complete:
            raise ValueError("an upload is cached for a recorded world only")
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO uploads (service, account, sha256, model, url, size,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
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

    def uploads_of(self, world: World) -> UploadRecords:
        """The upload cache of one world, under the names the client's UploadCache expects."""
        return UploadRecords(self, world)

    def _update(self, entry_id: str, **changes: Any) -> None:
        with self._transaction():
            self._set(entry_id, **changes)

    def _set(self, entry_id: str, **changes: Any) -> None:
        """Change an entry's columns inside the caller's transaction."""
        changes["updated_at"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in changes)
        cursor = self._db.execute(
            f"UPDATE entries SET {columns} WHERE entry_id = ?", (*changes.values(), entry_id)
        )
        if cursor.rowcount != 1:
            raise KeyError(entry_id)

    def _must_get(self, entry_id: str) -> EntryRecord:
        record = self.get(entry_id)
        if record is None:
            raise KeyError(entry_id)
        return record


@dataclass(frozen=True)
class UploadRecords:
    store: StateStore
    world: World

    def get(self, sha256: str, model: str) -> Upload | None:
        return self.store.get_upload(sha256, model, self.world)

    def put(self, upload: Upload) -> None:
        self.store.put_upload(upload, self.world)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _record(row: sqlite3.Row) -> EntryRecord:
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
        fingerprint_body=_optional_json(row, "fingerprint_body"),
        echo_basis=_basis(row),
    )


def _basis(row: sqlite3.Row) -> EchoBasis | None:
    data = _optional_json(row, "echo_basis")
    return None if data is None else EchoBasis.from_json(data)


def _optional_json(row: sqlite3.Row, column: str) -> dict[str, Any] | None:
    try:
        text = row[column]
    except IndexError:
        return None  # a read-only store is never migrated: a later column may be missing
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def _json_or_none(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _task_age_hours(record: EntryRecord) -> float:
    return (time.time() - (record.submitted_at or record.intent_at)) / 3600


def _expired_message(record: EntryRecord, task_id: str) -> str:
    """Why an entry's task is gone, in words that say what to do next."""
    age_hours = _task_age_hours(record)
    # The service forgets a task id 24 h after its creation (dashscope-kling-api.md, "Query").
    when = f"submitted {age_hours:.1f} h ago; " if age_hours >= TASK_ID_HOURS else ""
    return (
        f"DashScope no longer knows task {task_id} ({when}task ids are kept {TASK_ID_HOURS} h) "
        "and its video was never downloaded; `run --retry-failed` renders it again "
        "(and pays again)"
    )


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _usage_dict(task: Task) -> dict[str, Any]:
    usage = task.usage
    if usage is None:
        return {}
    return {key: value for key, value in usage.__dict__.items() if value is not None}
