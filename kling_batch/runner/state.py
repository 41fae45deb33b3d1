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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kling_batch.api.types import Task, Upload
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.migrations import MIGRATIONS
from kling_batch.runner.records import (
    UNSETTLED,
    EntryRecord,
    EntryState,
)
from kling_batch.runner.store_rows import (
    basis_of,
    json_or_none,
    optional_json,
    record_of,
    run_script,
)
from kling_batch.runner.transitions import RecordChange
from kling_batch.runner.world import World, legacy_world

STATE_FILE = "state.sqlite3"


class TaskClaimed(Exception):
    """A task id already recorded for another entry: adopting it would give one render to two."""


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
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                run_script(self._db, script)
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
        return None if row is None else record_of(row)

    def all(self) -> list[EntryRecord]:
        rows = self._db.execute("SELECT * FROM entries ORDER BY entry_id").fetchall()
        return [record_of(row) for row in rows]

    def unsettled(self, model: str) -> list[EntryRecord]:
        """The entries of a model whose create's answer was lost and is not settled yet."""
        rows = self._db.execute(
            "SELECT * FROM entries WHERE model = ?"
            " AND (state = ? OR (state = ? AND error_code = ?))",
            (model, EntryState.SUBMITTING, EntryState.UNKNOWN, UNSETTLED),
        ).fetchall()
        return [record_of(row) for row in rows]

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
                    json_or_none(fingerprint_body),
                    json_or_none(basis.to_json()),
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
        """Durably note the task id the create answered with (or reconciliation adopted), the
        entry in flight; what the task's status means beyond that is a transition's to say.

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
        return self._must_get(entry_id)

    def apply(self, entry_id: str, change: RecordChange) -> EntryRecord:
        """Persist one transition's change of an entry's record, in one transaction."""
        columns: dict[str, Any] = dict(change.columns())
        if "usage" in columns:
            columns["usage"] = json.dumps(columns["usage"], sort_keys=True)
        if "files" in columns:
            columns["files"] = json.dumps([f.__dict__ for f in columns["files"]])
        self._update(entry_id, **columns)
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
                    json_or_none(fingerprint_body),
                ),
            )
        return self._must_get(entry_id)

    def forget(self, entry_id: str) -> None:
        """Drop an entry's record (its content changed: it will be rendered again). A create
        whose answer is still unsettled is kept as a superseded attempt: its task may exist."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO superseded_attempts"
                " (entry_id, model, intent_at, echo_basis, fingerprint_body)"
                " SELECT entry_id, model, intent_at, echo_basis, fingerprint_body FROM entries"
                " WHERE entry_id = ? AND (state = ? OR (state = ? AND error_code = ?))",
                (entry_id, EntryState.SUBMITTING, EntryState.UNKNOWN, UNSETTLED),
            )
            self._db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))

    def superseded_attempts(
        self, model: str, since: float, entry_id: str | None = None
    ) -> list[EntryRecord]:
        """The superseded unsettled creates of a model (of one entry, if given) made after
        `since` (epoch seconds), as records in SUBMITTING (their entries have moved on)."""
        rows = self._db.execute(
            "SELECT * FROM superseded_attempts WHERE model = ? AND intent_at >= ?"
            " AND (? IS NULL OR entry_id = ?)",
            (model, since, entry_id, entry_id),
        ).fetchall()
        return [
            EntryRecord(
                entry_id=row["entry_id"],
                fingerprint="",
                model=row["model"],
                state=EntryState.SUBMITTING,
                body_sha256="",
                prompt_key=None,
                intent_at=row["intent_at"],
                fingerprint_body=optional_json(row, "fingerprint_body"),
                echo_basis=basis_of(row),
            )
            for row in rows
        ]

    def settle_superseded(self, attempt: EntryRecord, task_id: str | None) -> None:
        """A superseded create is settled: its task (if it made one) is claimed, so that no
        settle ever adopts it, and the attempt is no longer a rival."""
        with self._transaction():
            if task_id is not None:
                self._db.execute(
                    "INSERT OR IGNORE INTO known_tasks (task_id, entry_id, recorded_at)"
                    " VALUES (?, ?, ?)",
                    (task_id, attempt.entry_id, time.time()),
                )
            self._db.execute(
                "DELETE FROM superseded_attempts WHERE entry_id = ? AND intent_at = ?",
                (attempt.entry_id, attempt.intent_at),
            )

    def carry_record(self, old_id: str, new_id: str) -> EntryRecord:
        """`moved:`: give `old_id`'s record, and the tasks and unsettled creates it ever claimed,
        to `new_id`, in one transaction; asked again once done, it returns the record as is.
        Raises KeyError when neither id has a record, ValueError when both have one."""
        from kling_batch.runner.store_rows import carry_entry

        with self._transaction():
            carry_entry(self._db, old_id, new_id)
        return self._must_get(new_id)

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
