"""Simulated time: real time run at a settable speed, plus jumps, so 24 h can pass at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from kling_batch.simulator._config import ListZone

# DashScope writes task times as Beijing wall-clock time without a zone. The zone the task list
# reads its start_time / end_time in is not documented: SimulatorConfig.list_zone picks it.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
LIST_ZONES: dict[ListZone, tzinfo] = {ListZone.BEIJING: BEIJING, ListZone.UTC: UTC}


class SimClock:
    """Seconds since the epoch, in simulated time; starts at the real wall clock."""

    def __init__(self, speed: float = 1.0) -> None:
        self._speed = speed
        self._start_wall = time.time()
        self._start_mono = time.monotonic()
        self._jumped = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            elapsed = (time.monotonic() - self._start_mono) * self._speed
            return self._start_wall + elapsed + self._jumped

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("simulated time only moves forward")
        with self._lock:
            self._jumped += seconds


def beijing_text(epoch: float) -> str:
    """`2026-03-27 21:30:32.575`, the way task queries show times."""
    moment = datetime.fromtimestamp(epoch, BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def epoch_ms(epoch: float) -> int:
    return int(epoch * 1000)


def parse_list_time(text: str, zone: ListZone = ListZone.BEIJING) -> float:
    """`YYYYMMDDhhmmss` read in `zone`, as the task list takes it; ValueError if malformed."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(text)
    moment = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=LIST_ZONES[zone])
    return moment.timestamp()


def utc_iso(epoch: float) -> str:
    """`2026-03-27T13:35:32.000Z`, the form of an OSS policy's expiration."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
