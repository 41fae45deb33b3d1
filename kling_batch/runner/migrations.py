"""The state store's schema, as the ordered migrations that build it (PRAGMA user_version)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
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
    # The task ids of records that let go of them (re-render, retry, another task adopted): a
    # settle must never adopt an old render as the answer to a new create. A record's own task
    # is claimed by the record itself (state.claimed_task_ids); older stores list those here too.
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
    # Creates whose answer was lost and whose entry then started over (its content changed)
    # before the task list settled them: their tasks may exist, so they stay rivals of later
    # settles for as long as the list shows them.
    """
    CREATE TABLE superseded_attempts (
        entry_id TEXT NOT NULL,
        model TEXT NOT NULL,
        intent_at REAL NOT NULL,
        echo_basis TEXT,
        fingerprint_body TEXT,
        PRIMARY KEY (entry_id, intent_at)
    )
    """,
)
