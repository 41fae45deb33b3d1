"""Settling a submission whose answer was lost: was a task created, and which one is ours?

Asked when a create timed out, was reset or answered 5xx, and when a run finds an entry that was
mid-submit when the last run died. The task list is the only witness: a task of the same model,
created inside the window around our attempt, that no other entry has claimed, whose `orig_prompt`
is the prompt we sent. One such task is adopted; none means nothing was created (and the entry may
be sent again); more than one cannot be told apart and is left for the user.
"""

from __future__ import annotations

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
    claimed: set[str],
    rivals: int = 0,
    relist_delay: float = _RELIST_DELAY,
) -> Settlement:
    """`rivals`: other entries mid-submit with the same model and prompt, whose tasks would be
    indistinguishable from this one's in the list."""
    now = datetime.now(UTC)
    if now - attempted_from > _LIST_HORIZON - _CLOCK_SLACK:
        return Settlement(
            Verdict.UNSETTLED, reason="the attempt is older than the 24 h the task list covers"
        )
    start = attempted_from - _CLOCK_SLACK
    end = min(now, attempted_until + _CLOCK_SLACK)
    for look in range(2):
        matches = await _matching_tasks(client, model, prompt_key, start, end, claimed)
        if matches and rivals:
            return Settlement(
                Verdict.UNSETTLED,
                reason=f"{rivals} other entries with the same prompt were being submitted too; "
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
) -> list[Task]:
    listed = await client.list_tasks(start=start, end=end, model=model)
    matches: list[Task] = []
    for item in listed:
        if item.task_id in claimed:
            continue
        if item.model_name is not None and item.model_name != model:
            continue
        task = await client.get_task(item.task_id)
        if (task.orig_prompt or None) == (prompt_key or None):
            matches.append(task)
    return matches
