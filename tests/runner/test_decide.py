from __future__ import annotations

import dataclasses

import pytest

from kling_batch.runner.decide import Action, decide
from kling_batch.runner.records import UNSETTLED, EntryRecord, EntryState


def record(state: EntryState, fingerprint: str = "fp") -> EntryRecord:
    return EntryRecord(
        entry_id="e",
        fingerprint=fingerprint,
        model="m",
        state=state,
        body_sha256="b",
        prompt_key=None,
        intent_at=0.0,
    )


def test_a_new_entry_is_submitted() -> None:
    assert decide(None, "fp", files_intact=False) is Action.SUBMIT


def test_a_changed_entry_is_rendered_again_whatever_its_state() -> None:
    for state in EntryState:
        assert decide(record(state, "old"), "new", files_intact=True) is Action.RERENDER


@pytest.mark.parametrize(
    ("state", "intact", "action"),
    [
        (EntryState.DONE, True, Action.SKIP),
        (EntryState.DONE, False, Action.DOWNLOAD),
        (EntryState.SUCCEEDED, False, Action.DOWNLOAD),
        (EntryState.IN_FLIGHT, False, Action.POLL),
        (EntryState.SUBMITTING, False, Action.SETTLE),
        (EntryState.FAILED, False, Action.LEAVE_FAILED),
        (EntryState.CANCELED, False, Action.LEAVE_FAILED),
        (EntryState.EXPIRED, False, Action.LEAVE_FAILED),
        (EntryState.UNKNOWN, False, Action.LEAVE_UNKNOWN),
    ],
)
def test_each_state_has_its_action(state: EntryState, intact: bool, action: Action) -> None:
    assert decide(record(state), "fp", files_intact=intact) is action


def test_flags_allow_sending_again() -> None:
    failed = record(EntryState.FAILED)
    unknown = dataclasses.replace(failed, state=EntryState.UNKNOWN)
    assert decide(failed, "fp", files_intact=False, retry_failed=True) is Action.RETRY
    assert decide(unknown, "fp", files_intact=False, retry_failed=True) is Action.LEAVE_UNKNOWN
    assert decide(unknown, "fp", files_intact=False, resubmit_unknown=True) is Action.RESUBMIT


def test_only_sending_actions_pay() -> None:
    paying = {a for a in Action if a.sends}
    assert paying == {
        Action.SUBMIT,
        Action.RERENDER,
        Action.RETRY,
        Action.REPLACE,
        Action.RESUBMIT,
        Action.RESTART,
    }


def unsettled(intent_at: float) -> EntryRecord:
    return dataclasses.replace(
        record(EntryState.UNKNOWN), error_code=UNSETTLED, intent_at=intent_at
    )


def test_an_unsettled_create_is_looked_up_again_while_the_list_covers_it() -> None:
    now = 100_000.0
    young = unsettled(now - 3600)
    assert decide(young, "fp", files_intact=False, now=now) is Action.SETTLE
    # Past the 24 h the list covers, only the user can decide.
    old = unsettled(now - 24 * 3600)
    assert decide(old, "fp", files_intact=False, now=now) is Action.LEAVE_UNKNOWN
    # A task the service does not know (another account?) is not an unsettled create.
    not_found = dataclasses.replace(young, error_code="TaskNotFound")
    assert decide(not_found, "fp", files_intact=False, now=now) is Action.LEAVE_UNKNOWN
    assert decide(young, "fp", files_intact=False, now=now, resubmit_unknown=True) is (
        Action.RESUBMIT
    )


@pytest.mark.parametrize(
    "state",
    [EntryState.SUBMITTING, EntryState.IN_FLIGHT, EntryState.SUCCEEDED, EntryState.UNKNOWN],
)
def test_work_left_midway_on_a_service_that_forgets_is_restarted(state: EntryState) -> None:
    assert decide(record(state), "fp", files_intact=False, tasks_outlive_run=False) is (
        Action.RESTART
    )


@pytest.mark.parametrize("state", [EntryState.DONE, EntryState.FAILED])
def test_finished_work_on_a_service_that_forgets_stays_as_it_is(state: EntryState) -> None:
    action = decide(record(state), "fp", files_intact=True, tasks_outlive_run=False)
    assert action in (Action.SKIP, Action.LEAVE_FAILED)
