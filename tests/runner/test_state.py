from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kling_batch.api.types import Task, TaskStatus, Upload, Usage
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.lock import RunLock, StateLocked
from kling_batch.runner.records import EntryRecord, EntryState, FileRecord
from kling_batch.runner.state import StateStore, TaskClaimed
from kling_batch.runner.transitions import downloaded, task_seen
from kling_batch.runner.world import World


def fold(store: StateStore, entry_id: str, task: Task) -> EntryRecord:
    """What a run does with a task it saw: the transition, persisted."""
    record = store.get(entry_id)
    assert record is not None
    return store.apply(entry_id, task_seen(record, task, time.time()))


def finish(store: StateStore, entry_id: str, files: tuple[FileRecord, ...]) -> EntryRecord:
    return store.apply(entry_id, downloaded(files))


def test_an_entry_walks_through_its_states_and_survives_reopening(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    store.record_intent(
        "a", fingerprint="f1", model="m", body_sha256="b", basis=EchoBasis(prompt="p")
    )
    assert store.get("a") is not None and store.get("a").state is EntryState.SUBMITTING  # type: ignore[union-attr]
    store.record_submitted("a", Task(task_id="t1", status=TaskStatus.PENDING, request_id="r1"))
    done = Task(
        task_id="t1",
        status=TaskStatus.SUCCEEDED,
        video_url="https://x/v.mp4",
        usage=Usage(duration=5, sr="720"),
    )
    assert fold(store, "a", done).state is EntryState.SUCCEEDED
    finish(store, "a", (FileRecord("video.mp4", 10, "abc"),))
    store.close()

    again = StateStore(tmp_path / "state.sqlite3")
    record = again.get("a")
    assert record is not None
    assert record.state is EntryState.DONE
    assert record.task_id == "t1"
    assert record.billed_seconds == 5
    assert record.files == (FileRecord("video.mp4", 10, "abc"),)
    assert again.claimed_task_ids() == {"t1"}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (TaskStatus.FAILED, EntryState.FAILED),
        (TaskStatus.CANCELED, EntryState.CANCELED),
        (TaskStatus.UNKNOWN, EntryState.UNKNOWN),  # young: not expired, unknown here
        (TaskStatus.RUNNING, EntryState.IN_FLIGHT),
    ],
)
def test_task_status_decides_entry_state(
    tmp_path: Path, status: TaskStatus, state: EntryState
) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    store.record_intent(
        "a", fingerprint="f", model="m", body_sha256="b", basis=EchoBasis(prompt=None)
    )
    store.record_submitted("a", Task(task_id="t", status=TaskStatus.PENDING))
    record = fold(store, "a", Task(task_id="t", status=status, code="X", message="y"))
    assert record.state is state


def test_one_task_cannot_be_claimed_by_two_entries(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    for entry in ("a", "b"):
        store.record_intent(
            entry, fingerprint="f", model="m", body_sha256="b", basis=EchoBasis(prompt=None)
        )
    store.record_submitted("a", Task(task_id="t", status=TaskStatus.PENDING))
    with pytest.raises(TaskClaimed, match="entry a"):
        store.record_submitted("b", Task(task_id="t", status=TaskStatus.PENDING))
    assert store.get("b").state is EntryState.SUBMITTING  # type: ignore[union-attr]


def test_a_forgotten_entrys_task_stays_claimed(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    store.record_intent(
        "a", fingerprint="f", model="m", body_sha256="b", basis=EchoBasis(prompt=None)
    )
    store.record_submitted("a", Task(task_id="old", status=TaskStatus.PENDING))
    store.forget("a")  # re-rendered: the record goes, the task id must stay known
    assert "old" in store.claimed_task_ids()
    store.record_intent(
        "a", fingerprint="g", model="m", body_sha256="c", basis=EchoBasis(prompt=None)
    )
    with pytest.raises(TaskClaimed):
        store.record_submitted("b", Task(task_id="old", status=TaskStatus.PENDING))


HERE = World("https://dashscope.aliyuncs.com/api/v1", False, "acct-1")


def test_upload_cache_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    upload = Upload(url="oss://dir/a.png", model="m", sha256="h", size=3, expires_at=expires)
    store.uploads_of(HERE).put(upload)
    assert store.uploads_of(HERE).get("h", "m") == upload
    assert store.uploads_of(HERE).get("h", "other") is None


def test_uploads_are_never_shared_across_services_or_accounts(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    upload = Upload(url="oss://dir/a.png", model="m", sha256="h", size=3, expires_at=expires)
    store.uploads_of(HERE).put(upload)
    other_account = World(HERE.service, False, "acct-2")
    other_service = World("http://127.0.0.1:8765/api/v1", True, "acct-1")
    assert store.uploads_of(other_account).get("h", "m") is None
    assert store.uploads_of(other_service).get("h", "m") is None
    # Readers without a world (status, plan) see the cache of the output's recorded world.
    assert store.get_upload("h", "m") is None
    store.record_world(HERE)
    assert store.get_upload("h", "m") == upload


def test_a_store_from_before_worlds_tells_what_it_can(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    assert store.world() is None  # nothing recorded: nothing to protect
    store.record_intent("a", fingerprint="f", model="m", body_sha256="b", basis=EchoBasis("p"))
    assert store.world() == World(None, None, None)  # records, but no video: cannot tell
    store.record_submitted("a", Task(task_id="t", status=TaskStatus.PENDING))
    fold(
        store, "a", Task("t", TaskStatus.SUCCEEDED, video_url="http://127.0.0.1:8765/files/t/v.mp4")
    )
    assert store.world() == World(None, True, None)  # videos from loopback: a simulator
    store.record_world(HERE)
    assert store.world() == HERE


def test_echo_observations_accumulate_per_model_and_kind(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    store.observe_echo("m", "storyboard/no-prompt", EchoMode.EMPTY)
    store.observe_echo("m", "storyboard/no-prompt", EchoMode.EMPTY)
    store.observe_echo("m", "shot/prompt", EchoMode.WHOLE)
    store.close()
    store = StateStore(tmp_path / "s.sqlite3")
    assert store.echo_modes("m", "storyboard/no-prompt") == {EchoMode.EMPTY}
    assert store.echo_modes("m", "shot/prompt") == {EchoMode.WHOLE}
    assert store.echo_modes("other", "shot/prompt") == frozenset()


_WRITER = textwrap.dedent(
    """
    import sys
    from kling_batch.runner.echo import EchoBasis
    from kling_batch.runner.state import StateStore
    store = StateStore(__import__("pathlib").Path(sys.argv[1]))
    n = 0
    while True:
        basis = EchoBasis(prompt="p")
        store.record_intent(f"e{n}", fingerprint="f", model="m", body_sha256="b", basis=basis)
        print(n, flush=True)
        n += 1
    """
)


def test_kill_9_mid_write_leaves_every_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    last = -1
    for line in writer.stdout:
        last = int(line)
        if last >= 200:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    store = StateStore(path)
    ids = {record.entry_id for record in store.all()}
    assert {f"e{n}" for n in range(last + 1)} <= ids  # every acknowledged write is there
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kling_batch.runner.lock import RunLock
    lock = RunLock(Path(sys.argv[1]))
    lock.acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_run_lock_refuses_a_second_holder_and_frees_on_kill_9(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(StateLocked, match=f"pid {holder.pid}"):
        RunLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    with RunLock(tmp_path):
        pass
