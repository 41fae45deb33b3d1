"""The run's memory: one SQLite database per manifest output, crash-safe by construction.

This is the only module that knows SQL; the runner asks it questions by name. The database runs
in WAL mode through two connections. What must be on disk before a request leaves (the intent
of a create) is committed with `synchronous=FULL`: the commit returns once the WAL is fsynced,
and with it every change committed before. Every other change (the task id the create answered
with, what a poll saw, the files downloaded) is committed with `synchronous=NORMAL`: it survives
kill -9 the moment it is committed, and reaches the disk with the next intent or checkpoint; a
power cut in between can only take the store back to an earlier state of the same run, and a run
resumes from any of those (a create whose task id is lost is settled with the task list, a poll
or a download is done again).

The store answers questions from memory: one read of the entries table at the first question,
then kept equal to it by every change, each of which updates the record it wrote. A writable
store is opened only under the output's run lock, so no one else writes meanwhile; a read-only
one (`status`, `plan`, `report`) answers from one consistent read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import replace
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
    KEEP_CLAIM,
    basis_of,
    carry_entry,
    insert_entry,
    json_or_none,
    optional_json,
    read_entry,
    read_upload,
    records_of,
    run_script,
    stored,
    transaction,
    update_entry,
    write_upload,
)
from kling_batch.runner.transitions import RecordChange
from kling_batch.runner.upload_records import UploadRecords
from kling_batch.runner.world import World, legacy_world

STATE_FILE = "state.sqlite3"
# The task a record claims must not be claimed by another entry, current or dropped.
_UNCLAIMED_ELSEWHERE = (
    " AND (task_id IS NULL OR task_id = ?)"
    " AND NOT EXISTS (SELECT 1 FROM known_tasks WHERE task_id = ? AND entry_id <> ?)"
)


class TaskClaimed(Exception):
    """A task id already recorded for another entry: adopting it would give one render to two."""


class StateStore:
    """Per-entry records and the upload cache of one manifest's output folder."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            uri = f"file:{path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
            self._durable = self._db  # never written through
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._durable = sqlite3.connect(path, isolation_level=None)
            self._durable.execute("PRAGMA synchronous=FULL")
            self._durable.row_factory = sqlite3.Row
        self._db.row_factory = sqlite3.Row
        self._records: dict[str, EntryRecord] | None = None
        self._echoes: dict[tuple[str, str], set[EchoMode]] | None = None
        self._superseded: list[sqlite3.Row] | None = None
        self._world: World | None = None  # once recorded

    @classmethod
    def open_folder(cls, folder: Path, *, readonly: bool = False) -> StateStore:
        return cls(folder / STATE_FILE, readonly=readonly)

    def close(self) -> None:
        if self._durable is not self._db:
            self._durable.close()
        self._db.close()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with transaction(self._db):
                run_script(self._db, script)
                self._db.execute(f"PRAGMA user_version={number}")

    def _snapshot(self) -> dict[str, EntryRecord]:
        if self._records is None:
            cursor = self._db.cursor()
            cursor.row_factory = None  # plain tuples: records_of reads them by name
            cursor.execute("SELECT * FROM entries ORDER BY entry_id")
            self._records = {record.entry_id: record for record in records_of(cursor)}
        return self._records

    def _remember(self, record: EntryRecord) -> EntryRecord:
        """A record just written, now also what the store answers."""
        self._snapshot()[record.entry_id] = record
        return record

    def _changed(self, entry_id: str, changes: Mapping[str, Any]) -> EntryRecord:
        """The record of an entry after `changes` (columns, as records hold them) were written."""
        before = self._snapshot().get(entry_id)
        if before is None:  # not in the snapshot: cannot be, but the table has the last word
            return self._remember(read_entry(self._db, entry_id))
        return self._remember(replace(before, **changes))

    # -- questions -------------------------------------------------------------------------

    def get(self, entry_id: str) -> EntryRecord | None:
        return self._snapshot().get(entry_id)

    def all(self) -> list[EntryRecord]:
        return sorted(self._snapshot().values(), key=lambda record: record.entry_id)

    def unsettled(self, model: str) -> list[EntryRecord]:
        """The entries of a model whose create's answer was lost and is not settled yet."""
        return [r for r in self.all() if r.model == model and r.unsettled]

    def echo_modes(self, model: str, kind: str) -> frozenset[EchoMode]:
        """How the service echoed the prompts of this output's own tasks of a model and kind."""
        if self._echoes is None:
            self._echoes = {}
            for row in self._db.execute("SELECT model, kind, mode FROM echoes"):
                self._echoes.setdefault((row[0], row[1]), set()).add(EchoMode(row[2]))
        return frozenset(self._echoes.get((model, kind), ()))

    def world(self) -> World | None:
        """The world this output's records belong to; None for an output with no records yet.
        A store from before worlds were recorded tells what it can (runner/world.py)."""
        if self._world is not None:
            return self._world
        try:
            row = self._db.execute(
                "SELECT service, simulated, account FROM world WHERE id = 1"
            ).fetchone()
        except sqlite3.OperationalError:
            row = None  # a read-only store from before the world table
        if row is not None:
            self._world = World(str(row[0]), bool(row[1]), str(row[2]))
            return self._world
        if self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM known_tasks)"
        ).fetchone()[0]:
            urls = self._db.execute(
                "SELECT video_url FROM entries WHERE video_url IS NOT NULL"
            ).fetchall()
            return legacy_world(str(row[0]) for row in urls)
        return None

    def claimed_task_ids(self) -> set[str]:
        """Every task id this output ever recorded, for any entry, current or superseded: held
        by a record, or kept in known_tasks when a record let go of it (store_rows.KEEP_CLAIM)."""
        rows = self._db.execute(
            "SELECT task_id FROM known_tasks"
            " UNION SELECT task_id FROM entries WHERE task_id IS NOT NULL"
        )
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
        values = {
            "entry_id": entry_id,
            "fingerprint": fingerprint,
            "model": model,
            "state": EntryState.SUBMITTING,
            "body_sha256": body_sha256,
            "prompt_key": basis.prompt,
            "intent_at": now,
            "updated_at": now,
            "fingerprint_body": json_or_none(fingerprint_body),
            "echo_basis": json_or_none(basis.to_json()),
        }
        return self._put(self._durable, values)

    def record_world(self, world: World) -> None:
        if world == self._world:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO world (id, service, simulated, account, recorded_at)"
            " VALUES (1, ?, ?, ?, ?)",
            (world.service, int(bool(world.simulated)), world.account, time.time()),
        )
        self._world = world

    def observe_echo(self, model: str, kind: str, mode: EchoMode) -> None:
        # Written the first time only: which modes were seen is what counts (echo_modes).
        if mode in self.echo_modes(model, kind):
            return
        self._db.execute(
            "INSERT INTO echoes (model, kind, mode, seen) VALUES (?, ?, ?, 1)"
            " ON CONFLICT (model, kind, mode) DO UPDATE SET seen = seen + 1",
            (model, kind, mode),
        )
        assert self._echoes is not None  # loaded by echo_modes above
        self._echoes.setdefault((model, kind), set()).add(mode)

    def record_submitted(self, entry_id: str, task: Task) -> EntryRecord:
        """Note the task id the create answered with (or reconciliation adopted), the entry in
        flight; what the task's status means beyond that is a transition's to say. Raises
        TaskClaimed if another entry already holds that task."""
        now = time.time()
        changes = {
            "state": EntryState.IN_FLIGHT,
            "task_id": task.task_id,
            "task_status": task.status,
            "request_id": task.request_id,
            "submitted_at": now,
            "updated_at": now,
        }
        task_id = task.task_id
        try:
            done = update_entry(
                self._db, entry_id, changes, _UNCLAIMED_ELSEWHERE, task_id, task_id, entry_id
            )
        except sqlite3.IntegrityError:  # entries.task_id is unique: another record holds it
            holder = self._db.execute(
                "SELECT entry_id FROM entries WHERE task_id = ?", (task_id,)
            ).fetchone()
            raise TaskClaimed(f"task {task_id} belongs to entry {holder[0]}") from None
        if not done:  # claimed by a dropped record, or the entry holds another task, or none
            with transaction(self._db):
                holder = self._db.execute(
                    "SELECT entry_id FROM known_tasks WHERE task_id = ? AND entry_id <> ?",
                    (task_id, entry_id),
                ).fetchone()
                if holder is not None:
                    raise TaskClaimed(f"task {task_id} belongs to entry {holder[0]}")
                self._db.execute(KEEP_CLAIM, (entry_id,))
                if not update_entry(self._db, entry_id, changes):
                    raise KeyError(entry_id)
        return self._changed(entry_id, changes)

    def apply(self, entry_id: str, change: RecordChange) -> EntryRecord:
        """Persist one transition's change of an entry's record, in one statement."""
        changes = {**change.columns(), "updated_at": time.time()}
        if not update_entry(self._db, entry_id, stored(changes)):
            raise KeyError(entry_id)
        return self._changed(entry_id, changes)

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
        values = {
            "entry_id": entry_id,
            "fingerprint": fingerprint,
            "model": model,
            "state": EntryState.FAILED,
            "body_sha256": "",
            "intent_at": now,
            "error_code": code,
            "error_message": message,
            "request_id": request_id,
            "updated_at": now,
            "fingerprint_body": json_or_none(fingerprint_body),
        }
        return self._put(self._db, values)

    def _put(self, db: sqlite3.Connection, values: Mapping[str, Any]) -> EntryRecord:
        """An entry's new record, in place of the one it had (whose task stays claimed)."""
        entry_id = str(values["entry_id"])
        if entry_id not in self._snapshot():
            try:
                return self._remember(insert_entry(db, values))  # one statement, one commit
            except sqlite3.IntegrityError:
                pass  # a row after all: replaced below, like any other
        with transaction(db):
            db.execute(KEEP_CLAIM, (entry_id,))
            db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))
            record = insert_entry(db, values)
        return self._remember(record)

    def forget(self, entry_id: str) -> None:
        """Drop an entry's record (its content changed: it will be rendered again). A create
        whose answer is still unsettled is kept as a superseded attempt: its task may exist."""
        with transaction(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO superseded_attempts"
                " (entry_id, model, intent_at, echo_basis, fingerprint_body)"
                " SELECT entry_id, model, intent_at, echo_basis, fingerprint_body FROM entries"
                " WHERE entry_id = ? AND (state = ? OR (state = ? AND error_code = ?))",
                (entry_id, EntryState.SUBMITTING, EntryState.UNKNOWN, UNSETTLED),
            )
            self._db.execute(KEEP_CLAIM, (entry_id,))
            self._db.execute("DELETE FROM entries WHERE entry_id = ?", (entry_id,))
        if self._records is not None:
            self._records.pop(entry_id, None)
        self._superseded = None

    def superseded_attempts(
        self, model: str, since: float, entry_id: str | None = None
    ) -> list[EntryRecord]:
        """The superseded unsettled creates of a model (of one entry, if given) made after
        `since` (epoch seconds), as records in SUBMITTING (their entries have moved on)."""
        if self._superseded is None:
            self._superseded = self._db.execute("SELECT * FROM superseded_attempts").fetchall()
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
            for row in self._superseded
            if row["model"] == model
            and row["intent_at"] >= since
            and (entry_id is None or row["entry_id"] == entry_id)
        ]

    def settle_superseded(self, attempt: EntryRecord, task_id: str | None) -> None:
        """A superseded create is settled: its task (if it made one) is claimed, so that no
        settle ever adopts it, and the attempt is no longer a rival."""
        with transaction(self._db):
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
        self._superseded = None

    def carry_record(self, old_id: str, new_id: str) -> EntryRecord:
        """`moved:`: give `old_id`'s record, and the tasks and unsettled creates it ever claimed,
        to `new_id`, in one transaction; asked again once done, it returns the record as is.
        Raises KeyError when neither id has a record, ValueError when both have one."""
        with transaction(self._db):
            carry_entry(self._db, old_id, new_id)
        self._records = self._superseded = None  # ids changed: read again when next asked
        return read_entry(self._db, new_id)

    # -- the upload cache (kling_batch.api.UploadCache), one per world ----------------------

    def get_upload(self, sha256: str, model: str, world: World | None = None) -> Upload | None:
        """A cached upload of this world (default: the output's recorded one)."""
        world = world or self.world()
        if world is None or not world.complete:
            return None
        return read_upload(self._db, world, sha256, model)

    def put_upload(self, upload: Upload, world: World | None = None) -> None:
        """Cache an upload of this world (default: the output's recorded one)."""
        world = world or self.world()
        if world is None or not world.complete:
            raise ValueError("an upload is cached for a recorded world only")
        write_upload(self._db, world, upload)

    def uploads_of(self, world: World) -> UploadRecords:
        """The upload cache of one world, under the names the client's UploadCache expects."""
        return UploadRecords(self, world)
