"""The task list's filter, planned without I/O: requests that cover a span in any zone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from kling_batch.api.listing import LIST_SPAN, LIST_WINDOW, ListSpan, list_params

BEIJING = timezone(timedelta(hours=8))
START = datetime(2026, 3, 27, 0, 0, 0, tzinfo=UTC)


def _read(digits: str, zone: timezone) -> datetime:
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=zone)


def test_each_request_covers_its_span_whether_read_as_utc_or_beijing_time() -> None:
    params = list_params(START, START + timedelta(hours=2), None, None)
    for zone in (UTC, BEIJING):
        assert _read(params["start_time"], zone) <= START
        assert _read(params["end_time"], zone) >= START + timedelta(hours=2)
    # ... and within the service's 24 h cap on the digits.
    digits_span = _read(params["end_time"], UTC) - _read(params["start_time"], UTC)
    assert digits_span <= LIST_WINDOW


def test_a_long_span_is_cut_into_requests_that_fit_the_cap() -> None:
    span = ListSpan.of(START, START + timedelta(hours=40))
    requests = list(span.requests())
    assert requests[0][0] == START and requests[-1][1] == START + timedelta(hours=40)
    assert all(end - start <= LIST_SPAN for start, end in requests)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(requests))
    assert len(requests) == 3


def test_the_span_is_widened_to_whole_seconds() -> None:
    span = ListSpan.of(
        START + timedelta(microseconds=500), START + timedelta(seconds=1, microseconds=1)
    )
    assert (span.low, span.high) == (START, START + timedelta(seconds=2))
