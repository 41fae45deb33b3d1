"""The running slots and PENDING queue as a discrete-event model, at exact simulated times."""

from __future__ import annotations

from kling_batch.simulator import TaskStatus
from kling_batch.simulator._tasks import QUERYABLE_SECONDS, Outcome, SimTask, Slots
from kling_batch.simulator._validation import CreateSpec

SPEC = CreateSpec(
    model="kling/kling-v3-video-generation",
    prompt="p",
    hook_text="p",
    media=(),
    mode="pro",
    aspect_ratio="16:9",
    duration=5,
    audio=False,
    watermark=False,
)


def task(name: str, created: float, render: float, outcome: Outcome = Outcome.SUCCEED) -> SimTask:
    return SimTask(name, "req", SPEC, "sha", created, render, outcome)


def test_tasks_wait_for_a_slot_and_start_the_moment_one_frees() -> None:
    slots = Slots(2)
    a, b, c = task("a", 0, 10), task("b", 0, 4), task("c", 1, 3)
    for t in (a, b, c):
        slots.submit(t, t.created_at)
    assert [t.status(1) for t in (a, b, c)] == ["RUNNING", "RUNNING", "PENDING"]
    slots.settle(100)  # asked only long after: the history is the same
    assert (c.scheduled_at, c.finished_at) == (4, 7)
    assert [t.status(100) for t in (a, b, c)] == [TaskStatus.SUCCEEDED] * 3
    assert slots.peak_running == 2 and slots.running == 0


def test_a_chain_of_waits_is_settled_in_time_order() -> None:
    slots = Slots(1)
    tasks = [task(str(n), 0, 2) for n in range(4)]
    for t in tasks:
        slots.submit(t, 0)
    slots.settle(5)
    assert [t.scheduled_at for t in tasks] == [0, 2, 4, None]  # the last starts at 6
    assert [t.status(5) for t in tasks] == ["SUCCEEDED", "SUCCEEDED", "RUNNING", "PENDING"]


def test_cancel_takes_a_task_out_of_the_queue_only() -> None:
    slots = Slots(1)
    a, b = task("a", 0, 5), task("b", 0, 5)
    slots.submit(a, 0)
    slots.submit(b, 0)
    assert not slots.cancel(a, 1)
    assert slots.cancel(b, 1)
    assert b.status(2) == "CANCELED" and b.end_time == 1
    slots.settle(10)
    assert b.scheduled_at is None and slots.pending == 0


def test_failed_outcomes_and_expiry() -> None:
    slots = Slots(1)
    failed = task("f", 0, 1, Outcome.MODERATION)
    slots.submit(failed, 0)
    slots.settle(2)
    assert failed.status(2) == "FAILED"
    assert failed.status(QUERYABLE_SECONDS + 1) == "UNKNOWN"
    assert failed.status(QUERYABLE_SECONDS + 1, expire=False) == "FAILED"
