"""Settling a submission whose answer was lost: was a task created, and which one is ours?

Asked when a create timed out, was reset or answered 5xx, when a run finds an entry that was
mid-submit when the last run died, and again for an entry an earlier look could not settle. The
task list is the only witness, and only what it says unambiguously is used:

- the window: tasks whose `gmt_create` (epoch ms) falls around the attempt; the client asks for
  digits that cover it whatever zone the service reads them in (api/client.py, `list_tasks`);
- the echo: a task is a candidate when its `orig_prompt` is what the service echoes for a body
  like ours, as learned from this output's own tasks (runner/echo.py);
- the render: a task that has ended shows what it rendered (`usage`: billed seconds, 720 or
  1080, audio); one that does not fit the body sent is not a candidate;
- the claims: a task any entry of this output ever recorded is not a candidate.

One candidate that no other unsettled entry could also own is adopted; none (on a second look)
means the create never arrived, so sending it again cannot pay twice; anything else is left
unsettled, with the reason, for a later look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kling_batch.api.types import Task
from kling_batch.runner.echo import EchoBasis, EchoMode

if TYPE_CHECKING:  # a plan reads this module and sends nothing: neither HTTP nor anyio loaded
    from kling_batch.api import DashScopeClient
    from kling_batch.runner.clock import Clock

# Our clock and the service's differ, and a request spends time in flight: a task's gmt_create
# may lie this far outside the attempt as our clock saw it.
CLOCK_SLACK = timedelta(minutes=10)
# Tasks can be listed for 24 hours only; an older attempt cannot be settled.
LIST_HORIZON = timedelta(hours=24)
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


@dataclass(frozen=True)
class Attempt:
    """A create whose answer is not known: what was sent, and from when."""

    entry_id: str
    model: str
    basis: EchoBasis
    intent_at: float  # epoch seconds, our clock
    # The body's parameters (mode, duration, audio), to compare with a finished task's usage;
    # None for a record from before they were kept.
    parameters: Mapping[str, Any] | None = None

    def could_be(self, task: Task, modes: frozenset[EchoMode]) -> bool:
        """Whether `task` may have been created by this attempt: its echo, and its render."""
        return self.basis.could_echo(task.orig_prompt, modes) and fits_usage(task, self.parameters)


@dataclass(frozen=True)
class Sighting:
    """An unclaimed task as a query shows it, with its `gmt_create` from the list."""

    task: Task
    model: str
    created_at: datetime | None


ModesOf = Callable[[EchoBasis], frozenset[EchoMode]]


async def settle_submission(
    client: DashScopeClient,
    attempt: Attempt,
    *,
    claimed: Callable[[], set[str]],
    rivals: Callable[[], list[Attempt]],
    modes: ModesOf,
    clock: Clock,
    relist_delay: float = _RELIST_DELAY,
) -> Settlement:
    """`claimed`: every task id this output holds. `rivals`: the other entries whose creates are
    unsettled too (a candidate one of them could own is not ours to take). `modes`: the echoes
    to expect of a body. All three are asked again at every look, since the run goes on.
    `clock`: the run's, for the window's end and the wait before the second look."""
    now = datetime.fromtimestamp(clock.now(), UTC)
    attempted = datetime.fromtimestamp(attempt.intent_at, UTC)
    if now - attempted > LIST_HORIZON - CLOCK_SLACK:
        return Settlement(
            Verdict.UNSETTLED, reason="the attempt is older than the 24 h the task list covers"
        )
    start = attempted - CLOCK_SLACK
    for look in range(2):
        end = datetime.fromtimestamp(clock.now(), UTC) + CLOCK_SLACK
        ours = modes(attempt.basis)
        candidates = [
            seen
            for seen in await unclaimed_tasks(client, attempt.model, start, end, claimed())
            if attempt.could_be(seen.task, ours)
        ]
        if len(candidates) > 1:
            ids = ", ".join(seen.task.task_id for seen in candidates)
            return Settlement(
                Verdict.UNSETTLED,
                reason=f"{len(candidates)} unclaimed tasks in the window look like it: {ids}",
            )
        if candidates:
            (seen,) = candidates
            others = [rival.entry_id for rival in rivals() if _could_own(rival, seen, modes)]
            if others:
                return Settlement(
                    Verdict.UNSETTLED,
                    reason=f"task {seen.task.task_id} could as well be the unsettled create of "
                    f"{', '.join(sorted(others))}",
                )
            return Settlement(Verdict.ADOPTED, task=seen.task)
        if look == 0:
            await clock.sleep(relist_delay)
    return Settlement(Verdict.NOT_CREATED, reason="no unclaimed task like it in the window")


async def unclaimed_tasks(
    client: DashScopeClient, model: str, start: datetime, end: datetime, claimed: set[str]
) -> list[Sighting]:
    """The tasks of `model` created in [start, end] that no entry of this output claims, each
    as a query shows it (the list rows carry no prompt)."""
    listed = await client.list_tasks(start=start, end=end, model=model)
    sightings = []
    for item in listed:
        if item.task_id in claimed:
            continue
        if item.model_name is not None and item.model_name != model:
            continue
        task = await client.get_task(item.task_id)
        sightings.append(Sighting(task, item.model_name or model, item.created_at))
    return sightings


def _could_own(rival: Attempt, seen: Sighting, modes: ModesOf) -> bool:
    created = seen.created_at
    if created is not None and created < datetime.fromtimestamp(rival.intent_at, UTC) - CLOCK_SLACK:
        return False  # made before the rival's create was even about to be sent
    return rival.could_be(seen.task, modes(rival.basis))


# The service's usage.SR for each mode; the API's defaults when a body leaves them out.
_SR_OF_MODE = {"std": "720", "pro": "1080"}
_DEFAULT_MODE = "pro"
_DEFAULT_DURATION = 5


def fits_usage(task: Task, parameters: Mapping[str, Any] | None) -> bool:
    """Whether what a finished task rendered (billed seconds, resolution, audio) can be the
    body's; a task without usage (not finished, or failed) fits whatever was sent."""
    usage = task.usage
    if usage is None or parameters is None:
        return True
    duration = parameters.get("duration", _DEFAULT_DURATION)
    if usage.duration is not None and usage.duration != duration:
        return False
    sr = _SR_OF_MODE.get(str(parameters.get("mode", _DEFAULT_MODE)))
    if usage.sr is not None and sr is not None and usage.sr != sr:
        return False
    return usage.audio is None or usage.audio == bool(parameters.get("audio", False))
