"""When to poll a task next: notice a finished render quickly, yet poll sparingly.

The policy, in three phases, with `floor` the shortest gap (`--poll-interval`):
- Nothing learned yet (the run's first renders): gaps grow with the task's age (a third of it),
  so a long render is polled a handful of times, not every `floor` seconds.
- Once renders of the same kind (model, mode, duration) have finished in this run, their median
  time from submit to finish is the expectation: sleep straight to one `floor` before it, then
  poll every `floor` around it. Detection lag stays under one `floor`; a 3-minute render is polled
  about 3 times instead of 12 with a fixed 15 s loop.
- A task well past its expectation (queued behind other work, a slow render) backs off again:
  gaps grow with how late it is, up to `ceiling`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field

# How many finished renders of one kind the expectation looks back on: recent enough to follow a
# change in the service's load, long enough that one outlier does not move the median far.
_WINDOW = 25
_LATE_GRACE_FLOORS = 2.0


@dataclass
class RenderTimes:
    """Submit-to-finish durations of the renders this run saw finish, by kind."""

    _by_kind: dict[Hashable, deque[float]] = field(
        default_factory=lambda: defaultdict(lambda: deque(maxlen=_WINDOW))
    )

    def observe(self, kind: Hashable, seconds: float) -> None:
        if seconds >= 0:
            self._by_kind[kind].append(seconds)

    def expected(self, kind: Hashable) -> float | None:
        samples = self._by_kind.get(kind)
        if not samples:
            return None
        return statistics.median(samples)


@dataclass(frozen=True)
class PollPolicy:
    floor: float
    ceiling: float = 60.0

    def next_delay(self, *, age: float, expected: float | None) -> float:
        """Seconds to wait before the next poll of a task submitted `age` seconds ago."""
        if expected is None:
            return self._clamp(age / 3)
        remaining = expected - age
        if remaining > self.floor:
            return self._clamp(remaining - self.floor)
        overdue = -remaining
        if overdue <= _LATE_GRACE_FLOORS * self.floor:
            return self.floor
        return self._clamp(overdue / 2)

    def _clamp(self, seconds: float) -> float:
        return max(self.floor, min(self.ceiling, seconds))
