"""Settling a submission whose answer was lost: was a task created, and which one is ours?

Asked when a create timed out, was reset or answered 5xx, and when a run finds an entry that was
mid-submit when the last run died. The task list is the only witness: a task of the same model,
created inside the window around our attempt, that no other entry has claimed, whose `orig_prompt`
is the prompt we sent. One such task is adopted; none means nothing was created (and the entry may
be sent again); more than one cannot be told apart and is left for the user.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import anyio

from kling_batch.api import DashScopeClient
from kling_batch.api.types import Task

# Clocks differ between us and the service, and a request spends time in flight.
_CLOCK_SLACK = timedelta(seconds=120)
# Tasks can be listed for 24 hours only; an older intent cannot be settled.
_LIST_HORIZON = timedelta(hours=24)
# A task created a moment ago may not be listed yet: look twice before declaring it absent.
_RELIST_DELAY = 1.0


class Verdict(StrEnum):
    ADOPTED = "adopted"
    NOT_CREATED = "not_created"
    UNSETTLED = "unsettled"


@dataclass(frozen=True)
class Settlement:
    verdict: Verdict
    task: Task | None = None
    reason: str = ""


async def settle_submission(
    client: DashScopeClient,
    *,
    model: str,
    prompt_key: str | None,
    attempted_from: datetime,
    attempted_until: datetime,
    claimed: Callable[[], set[str]],
    rivals: Callable[[], int] = lambda: 0,
    relist_delay: float = _RELIST_DELAY,
) -> Settlement:
    """`claimed`: the task ids this output already holds. `rivals`: how many other entries are
    mid-submit with the same model and prompt (their tasks would be indistinguishable from this
    one's). Both are asked again at every look, since the run goes on meanwhile."""
    now = datetime.now(UTC)
    if now - attempted_from > _LIST_HORIZON - _CLOCK_SLACK:
        return Settlement(
            Verdict.UNSETTLED, reason="the attempt is older than the 24 h the task list covers"
        )
    start = attempted_from - _CLOCK_SLACK
    end = min(now, attempted_until + _CLOCK_SLACK)
    for look in range(2):
        matches, unreadable = await _matching_tasks(
            client, model, prompt_key, start, end, claimed()
        )
        competing = rivals()
        if matches and competing:
            return Settlement(
                Verdict.UNSETTLED,
                reason=f"{competing} other entries with the same prompt are unsettled too; "
                "their tasks cannot be told apart",
            )
        if len(matches) == 1:
            return Settlement(Verdict.ADOPTED, task=matches[0])
        if len(matches) > 1:
            ids = ", ".join(task.task_id for task in matches)
            return Settlement(
                Verdict.UNSETTLED,
                reason=f"{len(matches)} unclaimed tasks with the same prompt match: {ids}",
            )
        if unreadable:
            # A task that does not say its prompt could be ours: never call that "not created".
            return Settlement(
                Verdict.UNSETTLED,
                reason=f"{unreadable} unclaimed tasks in the window do not say their prompt",
            )
        if look == 0:
            await anyio.sleep(relist_delay)
            end = min(datetime.now(UTC), attempted_until + _CLOCK_SLACK)
    return Settlement(Verdict.NOT_CREATED, reason="no task of this model and prompt in the window")


async def _matching_tasks(
    client: DashScopeClient,
    model: str,
    prompt_key: str | None,
    start: datetime,
    end: datetime,
    claimed: set[str],
) -> tuple[list[Task], int]:
    """The unclaimed tasks whose prompt is ours, and how many unclaimed tasks did not say."""
    listed = await client.list_tasks(start=start, end=end, model=model)
    matches: list[Task] = []
    unreadable = 0
    wanted = _comparable(prompt_key)
    for item in listed:
        if item.task_id in claimed:
            continue
        if item.model_name is not None and item.model_name != model:
            continue
        task = await client.get_task(item.task_id)
        echoed = _comparable(task.orig_prompt)
        if echoed == wanted:
            matches.append(task)
        elif echoed is None:
            unreadable += 1
    return matches, unreadable


def _comparable(prompt: str | None) -> str | None:
    """A prompt as the service may echo it: Unicode-normalised, without outer white space."""
    if prompt is None:
        return None
    text = unicodedata.normalize("NFC", prompt).strip()
    return text or None
