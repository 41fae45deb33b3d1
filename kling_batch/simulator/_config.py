"""What a simulator is told: the account's limits, render times and the faults to inject."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum


class LostAnswer(StrEnum):
    """How the answer to a create that did create its task gets lost."""

    HANG = "hang"  # nothing comes back until the client gives up (or hang_seconds pass)
    RESET = "reset"  # the connection is reset without an answer
    SERVER_ERROR = "server-error"  # a 500, although the task exists and will be billed


# Modes for what the public documentation leaves open (dashscope-kling-api.md): a test can pin
# each reading, and a runner that must not depend on the answer can be run against all of them.


class ListZone(StrEnum):
    """The zone the task list reads its start_time / end_time digits (YYYYMMDDhhmmss) in."""

    BEIJING = "beijing"  # the zone the service writes its own submit_time strings in
    UTC = "utc"


class StoryboardEcho(StrEnum):
    """What a query's orig_prompt holds for a storyboard sent without a top-level input.prompt."""

    ABSENT = "absent"  # the key is left out
    EMPTY = "empty"  # ""
    FIRST_SHOT = "first-shot"  # shot 1's prompt, as kept (cut at 512 characters)


@dataclass(frozen=True)
class Faults:
    """Probabilities in [0, 1] of each injected fault; all 0 by default.

    Rolls are seeded and keyed by what a request is (endpoint, body or task, and how many times
    that same request was seen before), not by arrival order, so a run with concurrent requests
    meets the same faults each time and a retry of a failed request rolls again.
    """

    server_error: float = 0.0  # 500 InternalError or 503 ServiceUnavailable, nothing done
    reset: float = 0.0  # the connection is reset before anything is done
    lost_create: float = 0.0  # a create is performed but its answer is lost (see lost_answer)
    slow: float = 0.0  # the answer comes slow_seconds (real seconds) late
    truncated_download: float = 0.0  # a video download stops short of Content-Length
    task_failed: float = 0.0  # the task ends FAILED (InternalError.Algo)
    moderation: float = 0.0  # the task ends FAILED (DataInspectionFailed)
    slow_seconds: float = 2.0
    lost_answer: LostAnswer = LostAnswer.HANG

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be a probability in [0, 1], not {value!r}")
        if self.slow_seconds < 0:
            raise ValueError("Faults.slow_seconds must not be negative")


_PROBABILITIES = tuple(
    f.name for f in fields(Faults) if f.name not in ("slow_seconds", "lost_answer")
)


@dataclass(frozen=True)
class SimulatorConfig:
    """The simulated account and service. Times are seconds of simulated time unless noted."""

    # None: any non-empty Bearer key is accepted; otherwise only this one.
    api_key: str | None = field(default=None, repr=False)
    render_seconds: float = 3.0  # mean render time of a task
    render_jitter: float = 0.2  # render times spread uniformly over mean * (1 +/- jitter)
    slots: int = 10  # Kling tasks running at once per account; the rest wait PENDING
    max_queued: int | None = None  # PENDING tasks beyond this: 429 Throttling.AllocationQuota
    # Requests per real second, token buckets; None switches a limit off. The service's figures.
    submit_rate: float | None = 5.0
    query_rate: float | None = 20.0
    list_rate: float | None = 20.0
    cancel_rate: float | None = 20.0
    policy_rate: float | None = 100.0  # per model
    burst_seconds: float = 1.0  # bucket size, in seconds' worth of the rate (at least 1 request)
    speed: float = 1.0  # simulated seconds per real second (advance() jumps come on top)
    seed: int = 0
    faults: Faults = field(default_factory=Faults)
    arrearage: bool = False  # answer 400 Arrearage to every API request
    hang_seconds: float = 300.0  # real seconds a hung answer waits before the connection resets
    # False: a create with a field the reference does not list where it was sent is 400
    # InvalidParameter. True: such fields are ignored, as a service that reads only what it
    # knows would (a misplaced parameters.multi_shot then renders a single shot).
    lenient: bool = False
    # What the documentation leaves open (dashscope-kling-api.md), as in ListZone above.
    list_zone: ListZone = ListZone.BEIJING
    storyboard_echo: StoryboardEcho = StoryboardEcho.ABSENT
    retry_after: bool = True  # False: a 429 comes without a Retry-After header
    # True: every create takes from the create rate, valid or not; False: a create is checked
    # first and only one that passes (and so makes a task) spends from the rate.
    count_invalid_creates: bool = True

    def __post_init__(self) -> None:
        if self.api_key is not None and not self.api_key:
            raise ValueError("SimulatorConfig.api_key must be None or a non-empty key")
        if self.render_seconds < 0 or not 0.0 <= self.render_jitter < 1.0:
            raise ValueError("render_seconds must be >= 0 and render_jitter in [0, 1)")
        if self.slots < 1:
            raise ValueError("SimulatorConfig.slots must be at least 1")
        if self.speed <= 0:
            raise ValueError("SimulatorConfig.speed must be positive")
        for name in ("submit_rate", "query_rate", "list_rate", "cancel_rate", "policy_rate"):
            rate = getattr(self, name)
            if rate is not None and rate <= 0:
                raise ValueError(f"SimulatorConfig.{name} must be positive or None")
        if self.burst_seconds <= 0:
            raise ValueError("SimulatorConfig.burst_seconds must be positive")
        for name, kind in (("list_zone", ListZone), ("storyboard_echo", StoryboardEcho)):
            value = getattr(self, name)
            try:
                # A plain string naming a mode is taken as that mode (CLI and JSON callers).
                object.__setattr__(self, name, kind(value))
            except ValueError:
                valid = ", ".join(mode.value for mode in kind)
                raise ValueError(
                    f"SimulatorConfig.{name} must be one of: {valid}; not {value!r}"
                ) from None
