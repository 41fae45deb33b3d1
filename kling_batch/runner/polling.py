"""When to poll a task next: notice a finished render quickly, yet poll sparingly.

The policy, with `floor` the shortest gap (`--poll-interval`):
- Nothing learned yet (the run's first renders): gaps grow with the task's age (a quarter of it),
  so a long render is polled a handful of times, not every `floor` seconds.
- Once renders of the same kind (model, mode, duration) have finished in this run, the spread of
  their render times is the expectation: sleep straight to one `floor` before the early end of
  that spread (its 25th percentile), then poll every `floor` until past its late end (90th
  percentile). Detection lag stays under one `floor`; a 3-minute render is polled a few times
  instead of 12 with a fixed 15 s loop.
- A task well past its expectation (queued behind other work, a slow render) backs off again:
  gaps grow with how late it is, up to `ceiling`.

Render times are learned from the service's own clock (`end_time - submit_time`), so the lag of
our polls never leaks into the expectation.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field

# How many finished renders of one kind the expectation looks back on: recent enough to follow a
# change in the service's load, long enough for the spread to mean something.
_WINDOW = 40
_COLD_START_FRACTION = 1 / 4
_LATE_GRACE_FLOORS = 2.0


@dataclass(frozen=True)
class Expectation:
    """When renders of a kind have been finishing, in seconds after their submission."""

    early: float  # 25th percentile
    late: float  # 90th percentile


@dataclass
class RenderTimes:
    """Submit-to-finish durations of the renders this run saw finish, by kind."""

    _by_kind: dict[Hashable, deque[float]] = field(
        default_factory=lambda: defaultdict(lambda: deque(maxlen=_WINDOW))
    )

    def observe(self, kind: Hashable, seconds: float) -> None:
        if seconds >= 0:
            self._by_kind[kind].append(seconds)

    def expected(self, kind: Hashable) -> Expectation | None:
        samples = self._by_kind.get(kind)
        if not samples:
            return None
        if len(samples) == 1:
            return Expectation(samples[0], samples[0])
        cuts = statistics.quantiles(samples, n=20, method="inclusive")
        return Expectation(early=cuts[4], late=cuts[17])


@dataclass(frozen=True)
class PollPolicy:
    floor: float
    ceiling: float = 60.0

    def next_delay(self, *, age: float, expected: Expectation | None) -> float:
        """Seconds to wait before the next poll of a task submitted `age` seconds ago."""
        if expected is None:
            return self._clamp(age * _COLD_START_FRACTION)
        until_early = expected.early - self.floor - age
        if until_early > 0:
            return self._clamp(until_early)
        overdue = age - expected.late
        if overdue <= _LATE_GRACE_FLOORS * self.floor:
            return self.floor
        return self._clamp(overdue / 4)

    def _clamp(self, seconds: float) -> float:
        return max(self.floor, min(self.ceiling, seconds))
