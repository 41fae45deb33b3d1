from __future__ import annotations

import math

import pytest

from kling_batch.runner.polling import PollPolicy, RenderTimes


def simulate(policy: PollPolicy, render: float, expected: float | None) -> tuple[int, float]:
    """Polls needed to notice a render of `render` seconds, and how late it was noticed."""
    age = 0.0
    polls = 0
    while True:
        age += policy.next_delay(age=age, expected=expected)
        polls += 1
        if age >= render:
            return polls, age - render


def test_gaps_stay_between_floor_and_ceiling() -> None:
    policy = PollPolicy(floor=2.0, ceiling=30.0)
    for age in (0, 1, 10, 100, 10_000):
        for expected in (None, 5.0, 60.0, 600.0):
            delay = policy.next_delay(age=age, expected=expected)
            assert 2.0 <= delay <= 30.0


def test_floor_wins_over_a_smaller_ceiling() -> None:
    assert PollPolicy(floor=90.0, ceiling=60.0).next_delay(age=1000, expected=None) == 90.0


@pytest.mark.parametrize("render", [45.0, 90.0, 180.0, 300.0])
def test_with_an_expectation_lag_is_under_one_floor_and_polls_beat_a_fixed_loop(
    render: float,
) -> None:
    policy = PollPolicy(floor=5.0)
    polls, lag = simulate(policy, render, expected=render * 0.97)
    fixed_polls = math.ceil(render / 15.0)
    assert lag <= 5.0
    assert polls < fixed_polls or polls <= 3


def test_a_task_far_past_its_expectation_backs_off() -> None:
    policy = PollPolicy(floor=1.0, ceiling=60.0)
    assert policy.next_delay(age=100, expected=10) > 1.0
    assert policy.next_delay(age=11, expected=10) == 1.0


def test_cold_start_polls_a_long_render_a_handful_of_times() -> None:
    polls, lag = simulate(PollPolicy(floor=5.0), 240.0, expected=None)
    assert polls < 240.0 / 15.0  # fewer than a fixed 15 s loop
    assert lag <= 240.0 / 3


def test_render_times_median_by_kind() -> None:
    times = RenderTimes()
    assert times.expected("a") is None
    for seconds in (10, 12, 50):
        times.observe("a", seconds)
    times.observe("b", 99)
    assert times.expected("a") == 12
    assert times.expected("b") == 99
