"""Tasks and the account's running slots: a discrete-event model settled lazily.

Nothing runs in the background. Every task knows its render time from the start, so whenever
the simulator is asked anything it first `settle`s to the present: in time order, each finished
render frees its slot and the oldest PENDING task takes it at that very moment. The answers are
the same however rarely anyone asks, and `advance()` needs nothing more than a clock jump.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._validation import CreateSpec

QUERYABLE_SECONDS = 24 * 3600  # after this a task id reads UNKNOWN


class Outcome(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"
    MODERATION = "moderation"
    BAD_MEDIA = "bad-media"  # the service inspected an input file and refused it


@dataclass
class SimTask:
    task_id: str
    create_request_id: str
    spec: CreateSpec
    body_sha256: str
    created_at: float
    render_seconds: float
    outcome: Outcome
    failure_message: str = ""  # what a BAD_MEDIA task's output.message says
    scheduled_at: float | None = None
    finished_at: float | None = None
    canceled_at: float | None = None
    _order: int = field(default=0, repr=False)

    def status(self, now: float, *, expire: bool = True) -> TaskStatus:
        if expire and now - self.created_at > QUERYABLE_SECONDS:
            return TaskStatus.UNKNOWN
        if self.canceled_at is not None:
            return TaskStatus.CANCELED
        if self.scheduled_at is None or self.finished_at is None:
            return TaskStatus.PENDING
        if now < self.finished_at:
            return TaskStatus.RUNNING
        return TaskStatus.SUCCEEDED if self.outcome is Outcome.SUCCEED else TaskStatus.FAILED

    @property
    def end_time(self) -> float | None:
        return self.canceled_at if self.canceled_at is not None else self.finished_at


class Slots:
    """At most `size` tasks RUNNING; the rest wait PENDING in creation order."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._running: list[tuple[float, int, SimTask]] = []  # a heap by finish time
        self._queue: deque[SimTask] = deque()
        self._order = itertools.count()
        self.peak_running = 0

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def settle(self, now: float) -> None:
        while self._running and self._running[0][0] <= now:
            freed_at = heapq.heappop(self._running)[0]
            self._start_waiting(freed_at)

    def submit(self, task: SimTask, now: float) -> None:
        self.settle(now)
        task._order = next(self._order)
        self._queue.append(task)
        self._start_waiting(now)

    def cancel(self, task: SimTask, now: float) -> bool:
        """Cancel a task still waiting for a slot; False if it is not waiting."""
        self.settle(now)
        if task not in self._queue:
            return False
        self._queue.remove(task)
        task.canceled_at = now
        return True

    def _start_waiting(self, at: float) -> None:
        while self._queue and len(self._running) < self._size:
            task = self._queue.popleft()
            task.scheduled_at = at
            task.finished_at = at + task.render_seconds
            heapq.heappush(self._running, (task.finished_at, task._order, task))
            self.peak_running = max(self.peak_running, len(self._running))
