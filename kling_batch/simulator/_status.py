"""The task statuses as the service writes them, owned by the simulator.

The simulator speaks the wire strings itself rather than borrowing the client's enum, so a change
to how the client reads statuses can never quietly change what the fake service says.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """`output.task_status` of a query, `status` of a task-list row."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"  # the task does not exist, or is older than 24 h

    @property
    def is_terminal(self) -> bool:
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING)
