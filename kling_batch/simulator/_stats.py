"""What the simulator saw, for tests to assert on: counters inside, a frozen snapshot outside."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Endpoint(StrEnum):
    CREATE = "create"
    QUERY = "query"
    LIST = "list"
    CANCEL = "cancel"
    POLICY = "policy"
    UPLOAD = "upload"
    DOWNLOAD = "download"
    OTHER = "other"  # paths the service does not have
    CONTROL = "control"  # /__sim/...: the test's own handle, never counted


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    RESET = "reset"
    LOST_CREATE = "lost_create"
    SLOW = "slow"
    TRUNCATED_DOWNLOAD = "truncated_download"
    TASK_FAILED = "task_failed"
    MODERATION = "moderation"


@dataclass(frozen=True)
class SimulatorStats:
    """A snapshot of the counters; served as JSON at GET /__sim/stats."""

    creates: int  # tasks created, including those whose answer was lost
    creates_by_body: dict[str, int]  # sha256_json(request body) -> tasks created from it
    duplicate_creates: int  # creates beyond the first of each body
    peak_running: int
    running: int
    pending: int
    tasks_by_status: dict[str, int]  # every task ever created, by its status now
    requests: dict[str, int]  # by Endpoint, every request that arrived
    throttled: int  # 429s sent
    throttled_by_endpoint: dict[str, int]
    faults: dict[str, int]  # by FaultKind, injected (by probability or by a [sim:...] hook)
    downloads: int  # video GETs answered 200 or 206
    uploads: int  # files stored on the upload host
    cancels: int  # tasks canceled

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Counters:
    def __init__(self) -> None:
        self.creates_by_body: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.downloads = 0
        self.uploads = 0
        self.cancels = 0

    def snapshot(
        self, *, peak_running: int, running: int, pending: int, statuses: Counter[str]
    ) -> SimulatorStats:
        creates = sum(self.creates_by_body.values())
        return SimulatorStats(
            creates=creates,
            creates_by_body=dict(self.creates_by_body),
            duplicate_creates=creates - len(self.creates_by_body),
            peak_running=peak_running,
            running=running,
            pending=pending,
            tasks_by_status=dict(statuses),
            requests={str(name): count for name, count in self.requests.items()},
            throttled=sum(self.throttled.values()),
            throttled_by_endpoint={str(name): count for name, count in self.throttled.items()},
            faults={str(name): count for name, count in self.faults.items()},
            downloads=self.downloads,
            uploads=self.uploads,
            cancels=self.cancels,
        )
