"""A task id an entry's record held stays claimed whichever way the record lets go of it:
replaced by a new intent or a rejection, given another task, or dropped; and what the store
answers from memory is what a fresh store reads from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_batch.api.types import Task, TaskStatus
from kling_batch.runner.echo import EchoBasis
from kling_batch.runner.records import EntryState
from kling_batch.runner.state import StateStore, TaskClaimed
from kling_batch.runner.transitions import failed


def _intent(store: StateStore, entry_id: str, fingerprint: str = "f") -> None:
    store.record_intent(
        entry_id, fingerprint=fingerprint, model="m", body_sha256="b", basis=EchoBasis("p")
    )


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    opened = StateStore(tmp_path / "state.sqlite3")
    _intent(opened, "a")
    opened.record_submitted("a", Task("t-old", TaskStatus.PENDING))
    return opened


def test_a_new_intent_over_a_record_keeps_its_task_claimed(store: StateStore) -> None:
    store.apply("a", failed("X", "it failed"))
    _intent(store, "a", fingerprint="g")  # sent again (say, --retry-failed without forget)

    assert store.get("a").state is EntryState.SUBMITTING  # type: ignore[union-attr]
    assert store.get("a").task_id is None  # type: ignore[union-attr]
    assert "t-old" in store.claimed_task_ids()
    _intent(store, "b")
    with pytest.raises(TaskClaimed, match="entry a"):
        store.record_submitted("b", Task("t-old", TaskStatus.PENDING))


def test_a_rejection_over_a_record_keeps_its_task_claimed(store: StateStore) -> None:
    store.record_rejection("a", fingerprint="g", model="m", code="Bad", message="no")
    assert store.get("a").state is EntryState.FAILED  # type: ignore[union-attr]
    assert "t-old" in store.claimed_task_ids()


def test_a_record_given_another_task_keeps_the_first_claimed(store: StateStore) -> None:
    store.record_submitted("a", Task("t-new", TaskStatus.RUNNING))  # adopted by `audit`, say

    assert store.get("a").task_id == "t-new"  # type: ignore[union-attr]
    assert {"t-old", "t-new"} <= store.claimed_task_ids()
    _intent(store, "b")
    with pytest.raises(TaskClaimed):
        store.record_submitted("b", Task("t-old", TaskStatus.PENDING))


def test_the_same_task_recorded_again_is_no_claim_of_another(store: StateStore) -> None:
    again = store.record_submitted("a", Task("t-old", TaskStatus.RUNNING))
    assert again.task_id == "t-old" and again.task_status is TaskStatus.RUNNING


def test_a_missing_entry_cannot_take_a_task(store: StateStore) -> None:
    with pytest.raises(KeyError):
        store.record_submitted("nobody", Task("t-other", TaskStatus.PENDING))


def test_what_the_store_answers_is_what_the_file_holds(store: StateStore, tmp_path: Path) -> None:
    store.apply("a", failed("X", "it failed"))
    _intent(store, "b")
    store.record_submitted("b", Task("t-b", TaskStatus.PENDING, request_id="r-b"))
    store.forget("a")
    answered = store.all()
    store.close()

    reopened = StateStore(tmp_path / "state.sqlite3", readonly=True)
    try:
        assert reopened.all() == answered
        assert [r.entry_id for r in answered] == ["b"]
        assert reopened.claimed_task_ids() == {"t-old", "t-b"}
    finally:
        reopened.close()
