"""What to do about an entry that did not end done: the one wording of it, which the report's
cards show (and anything else that tells a user, such as the end of `run`, may reuse).

It says what the user can change. A render that content moderation refused, or whose media the
service could not take, fails the same way again if it is sent unchanged: there the step is to
change the entry (a changed entry is rendered again on the next run, no flag needed), not
`--retry-failed`.
"""

from __future__ import annotations

from kling_batch.runner.records import UNSETTLED, EntryState
from kling_batch.runner.results import EntryResult

RETRY = "Run the manifest again with --retry-failed to render it again."
CHANGED_RENDERS_AGAIN = "an entry you change is rendered again on the next run, no flag needed"


def next_step(result: EntryResult) -> str | None:
    """The next step for `result`, or None when there is nothing to do (done, or never run)."""
    code = result.error_code or ""
    match result.state:
        case EntryState.FAILED if _is_media_problem(code):
            return (
                "The service could not fetch or accept a media file of this entry: check that "
                "each url is public and each file is within the limits (docs/manifest.md), "
                f"then run the manifest again ({CHANGED_RENDERS_AGAIN})."
            )
        case EntryState.FAILED if _is_moderation(code):
            return (
                "Content moderation refused this render. Change what it may object to (the "
                "prompt, the negative prompt or an image), then run the manifest again "
                f"({CHANGED_RENDERS_AGAIN}); sent unchanged with --retry-failed it is likely "
                "to be refused again."
            )
        case EntryState.FAILED if code.startswith("InvalidParameter"):
            return (
                "The service refused the request: change the field its message names, then "
                f"run the manifest again ({CHANGED_RENDERS_AGAIN})."
            )
        case EntryState.FAILED | EntryState.CANCELED | EntryState.EXPIRED:
            return RETRY
        case EntryState.UNKNOWN if code == UNSETTLED:
            return (
                "Whether its create reached the service is not settled yet: the next run looks "
                "again (for 24 h), and `kling-batch audit MANIFEST` lists the tasks it may be."
            )
        case EntryState.UNKNOWN:
            return (
                "It may have been created (and billed) or not: `kling-batch audit MANIFEST` "
                "lists the tasks it may be (--adopt takes one); --resubmit-unknown sends it "
                "again, which may pay twice."
            )
        case EntryState.SUBMITTING | EntryState.IN_FLIGHT | EntryState.SUCCEEDED:
            return "Run the manifest again to finish it: it goes on where it stopped."
    return None


def _is_media_problem(code: str) -> bool:
    # InvalidParameter.DataInspection: the service could not fetch (or inspect) a media file.
    return code.startswith("InvalidParameter") and "DataInspection" in code


def _is_moderation(code: str) -> bool:
    # DataInspectionFailed and its kin: the task's content was refused.
    return code.startswith("DataInspection")
