from __future__ import annotations

import dataclasses

import pytest

from kling_batch.runner.decide import Action, decide
from kling_batch.runner.state import EntryRecord, EntryState


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
    assert paying == {Action.SUBMIT, Action.RERENDER, Action.RETRY, Action.RESUBMIT}
