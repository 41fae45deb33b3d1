"""What a run asks of the disk: the state store's SQL statements and the sync points (fsyncs).

`traced_io()` wraps `sqlite3.connect` for its duration so that every connection opened meanwhile
(the state store's) reports each statement it runs through `set_trace_callback`, and wraps
`os.fsync`, which every artifact writer of ours calls. From the statement trace it then counts
SQLite's own sync points, by the rules of the journal mode the store uses (WAL):

- a transaction that wrote something, when it commits under `synchronous=FULL` (or EXTRA): one
  fsync of the WAL; under `synchronous=NORMAL`: none (the WAL is synced at checkpoints only);
- a transaction is an explicit BEGIN ... COMMIT, or a single writing statement outside one
  (SQLite's autocommit); the `synchronous` setting is followed through the PRAGMAs in the trace.

A checkpoint (SQLite copies the WAL into the database every 1000 pages) adds up to three syncs
(the WAL before, the database after, the WAL header when the file is reused). The trace cannot
see them; `run_bench.py io --strace` counts the real fsync/fdatasync system calls to show what
they add. See bench/README.md.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_SYNCING = {"FULL", "EXTRA", "2", "3"}
_SYNCHRONOUS = re.compile(r"PRAGMA\s+synchronous\s*=\s*(\w+)", re.IGNORECASE)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


@dataclass
class IoTrace:
    # Every statement, in order, with the connection that ran it (its index in opening order).
    traced: list[tuple[int, str]] = field(default_factory=list)
    connections: int = 0
    own_fsyncs: int = 0  # os.fsync calls (the artifact writers, the downloads)

    @property
    def statements(self) -> list[str]:
        return [text for _, text in self.traced]

    @property
    def sqlite_syncs(self) -> int:
        """Commits of writing transactions under a syncing `synchronous` setting (see above),
        each connection followed on its own (the setting is per connection)."""
        return sum(
            _syncs([text for index, text in self.traced if index == connection])
            for connection in range(self.connections)
        )

    @property
    def fsyncs(self) -> int:
        return self.sqlite_syncs + self.own_fsyncs

    def by_shape(self) -> Counter[str]:
        """Statements with their literals blanked out, counted: what the store runs, and how
        often."""
        return Counter(_LITERALS.sub("?", " ".join(s.split()))[:110] for s in self.statements)


def _syncs(statements: list[str]) -> int:
    syncing = True  # SQLite's default is FULL
    in_transaction = False
    wrote = False
    syncs = 0
    for text in statements:
        statement = text.strip().upper()
        setting = _SYNCHRONOUS.match(text.strip())
        if setting is not None:
            syncing = setting.group(1).upper() in _SYNCING
        elif statement.startswith("BEGIN"):
            in_transaction, wrote = True, False
        elif statement.startswith(("COMMIT", "END")):
            syncs += int(syncing and wrote)
            in_transaction = False
        elif statement.startswith("ROLLBACK"):
            in_transaction = False
        elif statement.startswith(_WRITES):
            if in_transaction:
                wrote = True
            else:
                syncs += int(syncing)
    return syncs


@contextmanager
def traced_io() -> Iterator[IoTrace]:
    """Trace every SQLite connection opened inside, and count os.fsync calls."""
    trace = IoTrace()
    connect = sqlite3.connect
    fsync = os.fsync

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        index = trace.connections
        trace.connections += 1
        db.set_trace_callback(lambda text: trace.traced.append((index, text)))
        return db

    def counted_fsync(fd: Any) -> None:
        trace.own_fsyncs += 1
        fsync(fd)

    sqlite3.connect = traced_connect  # type: ignore[assignment]
    os.fsync = counted_fsync
    try:
        yield trace
    finally:
        sqlite3.connect = connect
        os.fsync = fsync


def count_calls(log: str, names: tuple[str, ...] = ("fsync", "fdatasync")) -> int:
    """System calls named `names` in an `strace -f -o` log."""
    pattern = re.compile(rf"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(?:{'|'.join(names)})\(", re.MULTILINE)
    return len(pattern.findall(log))
