"""What a run does with one entry, given what the state store remembers of it.

The single place this is decided: `run` acts on it and `plan` reports it, so the plan a
reviewer reads is the run that happens.
"""

from __future__ import annotations

from enum import StrEnum

from kling_batch.runner.state import EntryRecord, EntryState


class Action(StrEnum):
    SUBMIT = "submit"  # new: never rendered
    RERENDER = "re-render"  # its content changed since the last render
    RETRY = "retry"  # failed, canceled or expired, and --retry-failed was given
    RESUBMIT = "resubmit"  # unsettled submission, and --resubmit-unknown was given
    SETTLE = "settle"  # a create's answer was lost: find its task in the list first
    POLL = "poll"  # in flight: poll until it ends
    DOWNLOAD = "download"  # rendered; its files are missing or damaged
    SKIP = "skip"  # done, files intact
    LEAVE_FAILED = "failed"  # failed, canceled or expired; needs --retry-failed
    LEAVE_UNKNOWN = "unknown"  # unsettled submission; needs --resubmit-unknown

    @property
    def sends(self) -> bool:
        """Whether this action creates (and pays for) a new task."""
        return self in (Action.SUBMIT, Action.RERENDER, Action.RETRY, Action.RESUBMIT)

    @property
    def starts_over(self) -> bool:
        """Whether the entry's old record and artifacts are set aside first."""
        return self in (Action.RERENDER, Action.RETRY, Action.RESUBMIT)


_ENDED_BADLY = (EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED)


def decide(
    record: EntryRecord | None,
    fingerprint: str,
    *,
    files_intact: bool,
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
) -> Action:
    """`files_intact` matters only for a done entry: whether its recorded files are on disk."""
    if record is None:
        return Action.SUBMIT
    if record.fingerprint != fingerprint:
        return Action.RERENDER
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
            return Action.RESUBMIT if resubmit_unknown else Action.LEAVE_UNKNOWN
        case state if state in _ENDED_BADLY:
            return Action.RETRY if retry_failed else Action.LEAVE_FAILED
    raise AssertionError(f"no action for state {record.state}")
