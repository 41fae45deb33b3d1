"""The next step a card gives for an entry that did not end done: one wording per case, and
what the user can change named where sending it again would not help."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kling_batch.prices import Estimate
from kling_batch.report import next_step
from kling_batch.runner.records import UNSETTLED, EntryState
from kling_batch.runner.results import EntryResult


def result(state: EntryState | None, code: str | None = None) -> EntryResult:
    return EntryResult("a", Estimate(5, Decimal(3), "CNY"), state=state, error_code=code)


@pytest.mark.parametrize(
    ("state", "code", "says", "retry"),
    [
        (EntryState.FAILED, "DataInspectionFailed", "Content moderation refused", False),
        (EntryState.FAILED, "InvalidParameter.DataInspection", "could not fetch or accept", False),
        (EntryState.FAILED, "InvalidParameter", "change the field its message names", False),
        (EntryState.FAILED, "InternalError.Algo", "Run the manifest again", True),
        (EntryState.FAILED, None, "Run the manifest again", True),
        (EntryState.CANCELED, None, "Run the manifest again", True),
        (EntryState.EXPIRED, "TaskExpired", "Run the manifest again", True),
        (EntryState.UNKNOWN, UNSETTLED, "the next run looks again", False),
        (EntryState.UNKNOWN, None, "--resubmit-unknown", False),
        (EntryState.IN_FLIGHT, None, "goes on where it stopped", False),
    ],
)
def test_each_outcome_has_its_next_step(
    state: EntryState, code: str | None, says: str, retry: bool
) -> None:
    step = next_step(result(state, code))
    assert step is not None and says in step
    # --retry-failed is the step only where sending the same entry again can help.
    assert step.endswith("with --retry-failed to render it again.") is retry


def test_a_changed_entry_needs_no_flag_where_the_step_is_to_change_it() -> None:
    for code in ("DataInspectionFailed", "InvalidParameter.DataInspection", "InvalidParameter"):
        step = next_step(result(EntryState.FAILED, code))
        assert step is not None and "rendered again on the next run, no flag needed" in step


@pytest.mark.parametrize("state", [EntryState.DONE, None])
def test_nothing_to_do_for_a_done_or_never_run_entry(state: EntryState | None) -> None:
    assert next_step(result(state)) is None
