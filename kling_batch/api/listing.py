"""The task list's filter, planned without I/O: which requests cover a span of creation times.

The zone the service reads the filter's `YYYYMMDDhhmmss` digits in is not documented (the
reference): any reading from UTC to Beijing time (UTC+8, the zone of its own time strings) is
plausible. So each request's digits cover its span under every such reading, and the rows are
then kept by `gmt_create`, the one unambiguous time (epoch ms). Correctness never rests on the
zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from kling_batch.api import decode
from kling_batch.api.types import TaskListItem, TaskStatus

# "The window is at most 24 h" (list tasks).
LIST_WINDOW: Final = timedelta(hours=24)
# The zone the service reads the list filter's digits in is not documented: any reading from UTC
# to Beijing time (UTC+8, the zone of its own time strings) is plausible. The digits asked for
# cover a span under every such reading, so one request covers 24 h less that spread.
LIST_ZONE_SPREAD: Final = timedelta(hours=8)
LIST_SPAN: Final = LIST_WINDOW - LIST_ZONE_SPREAD
LIST_PAGE_SIZE: Final = 100
# A guard against a server whose paging never ends, not a limit anyone should meet.
LIST_MAX_PAGES: Final = 1000


@dataclass(frozen=True)
class ListSpan:
    """A span of creation times, widened to whole seconds outward (the service has seconds)."""

    low: datetime
    high: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> ListSpan:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("list_tasks needs timezone-aware datetimes (naive time is ambiguous)")
        low = start.astimezone(UTC).replace(microsecond=0)
        high = end.astimezone(UTC)
        if high.microsecond:
            high = high.replace(microsecond=0) + timedelta(seconds=1)
        if high < low:
            raise ValueError(f"list_tasks: end {end.isoformat()} is before start")
        return cls(low, high)

    def requests(self) -> Iterator[tuple[datetime, datetime]]:
        """Consecutive spans, each one request's worth."""
        start = self.low
        while True:
            end = min(start + LIST_SPAN, self.high)
            yield start, end
            if end >= self.high:
                return
            start = end

    def keep(self, items: Iterable[TaskListItem]) -> list[TaskListItem]:
        """The rows created inside the span; a row without `gmt_create` cannot be placed, so it
        is kept."""
        return [
            item
            for item in items
            if item.created_at is None or self.low <= item.created_at <= self.high
        ]


def list_params(
    start: datetime, end: datetime, model: str | None, status: TaskStatus | None
) -> dict[str, str]:
    """The query of one request: the earliest reading of the start digits is UTC's, the latest
    of the end digits Beijing's, so between them the digits cover [start, end] however read."""
    params = {
        "start_time": decode.list_time(start, UTC),
        "end_time": decode.list_time(end + LIST_ZONE_SPREAD, UTC),
        "page_size": str(LIST_PAGE_SIZE),
    }
    if model is not None:
        params["model_name"] = model
    if status is not None:
        params["status"] = status.value
    return params
