"""What a run does with one entry, given what the state store remembers of it.

The single place this is decided: `run` acts on it and `plan` reports it, so the plan a
reviewer reads is the run that happens.
"""

from __future__ import annotations

import time
from enum import StrEnum

from kling_batch.runner.reconcile import CLOCK_SLACK, LIST_HORIZON
from kling_batch.runner.records import EntryRecord, EntryState


class Action(StrEnum):
    SUBMIT = "submit"  # new: never rendered
    RERENDER = "re-render"  # its content changed since the last render
    RETRY = "retry"  # failed, canceled or expired, and --retry-failed was given
    REPLACE = "replace"  # unchanged and settled (done, failed, ...), and --replace names it
    RESUBMIT = "resubmit"  # unsettled submission, and --resubmit-unknown was given
    RESTART = "restart"  # left midway on a service that forgot it (the in-process simulator)
    SETTLE = "settle"  # a create's answer was lost (or not yet settled): look in the task list
    POLL = "poll"  # in flight: poll until it ends
    DOWNLOAD = "download"  # rendered; its files are missing or damaged
    SKIP = "skip"  # done, files intact
    LEAVE_FAILED = "failed"  # failed, canceled or expired; needs --retry-failed
    LEAVE_UNKNOWN = "unknown"  # cannot be settled any more; needs --resubmit-unknown

    @property
    def sends(self) -> bool:
        """Whether this action creates (and pays for) a new task."""
        return self in _SENDS

    @property
    def starts_over(self) -> bool:
        """Whether the entry's old record and artifacts are set aside first."""
        return self in _STARTS_OVER


# Sets, built once: a plan of 10,000 entries asks each of these several times per entry.
_STARTS_OVER = frozenset(
    {Action.RERENDER, Action.RETRY, Action.REPLACE, Action.RESUBMIT, Action.RESTART}
)
_SENDS = _STARTS_OVER | {Action.SUBMIT}
_ENDED_BADLY = (EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED)
# What `--replace` renders again: an entry whose render has ended, well or badly. One still on
# its way (submitting, in flight, rendered but not downloaded, unsettled) is not: its task
# would be abandoned while it may still be billed.
REPLACEABLE = (EntryState.DONE, *_ENDED_BADLY)
# What a service whose tasks end with the process (the --simulate simulator) no longer knows.
_GONE_WITH_THE_PROCESS = (
    EntryState.SUBMITTING,
    EntryState.IN_FLIGHT,
    EntryState.SUCCEEDED,
    EntryState.UNKNOWN,
)
# How long the task list can still settle an attempt.
_SETTLE_HORIZON = (LIST_HORIZON - CLOCK_SLACK).total_seconds()


def decide(
    record: EntryRecord | None,
    fingerprint: str,
    *,
    files_intact: bool,
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
    replace: bool = False,
    tasks_outlive_run: bool = True,
    now: float | None = None,
) -> Action:
    """`files_intact` matters only for a done entry: whether its recorded files are on disk.
    `replace`: `--replace` names the entry, so a settled render of it is rendered again.
    `tasks_outlive_run` False: the service forgets its tasks when the process ends (the
    in-process simulator), so an entry left midway is rendered again from the start."""
    if record is None:
        return Action.SUBMIT
    if record.fingerprint != fingerprint:
        return Action.RERENDER
    if replace and record.state in REPLACEABLE:
        return Action.REPLACE
    if not tasks_outlive_run and record.state in _GONE_WITH_THE_PROCESS:
        return Action.RESTART
    moment = time.time() if now is None else now
    match record.state:
        case EntryState.DONE:
            return Action.SKIP if files_intact else Action.DOWNLOAD
        case EntryState.SUCCEEDED:
            return Action.DOWNLOAD
        case EntryState.IN_FLIGHT:
            return Action.POLL
        case EntryState.SUBMITTING:
            return Action.SETTLE
        case EntryState.UNKNOWN:
            if resubmit_unknown:
                return Action.RESUBMIT
            # An unsettled create is looked up again while the list still covers it.
            if record.unsettled and moment - record.intent_at < _SETTLE_HORIZON:
                return Action.SETTLE
            return Action.LEAVE_UNKNOWN
        case state if state in _ENDED_BADLY:
            return Action.RETRY if retry_failed else Action.LEAVE_FAILED
    raise AssertionError(f"no action for state {record.state}")
