from __future__ import annotations

import math
import random

import pytest

from kling_batch.runner.polling import Expectation, PollPolicy, RenderTimes


def simulate(policy: PollPolicy, render: float, expected: Expectation | None) -> tuple[int, float]:
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
    expectations = (None, Expectation(5, 8), Expectation(60, 90), Expectation(600, 700))
    for age in (0, 1, 10, 100, 10_000):
        for expected in expectations:
            delay = policy.next_delay(age=age, expected=expected)
            assert 2.0 <= delay <= 30.0


def test_floor_wins_over_a_smaller_ceiling() -> None:
    assert PollPolicy(floor=90.0, ceiling=60.0).next_delay(age=1000, expected=None) == 90.0


@pytest.mark.parametrize("mean", [45.0, 90.0, 180.0, 300.0])
def test_learned_spread_keeps_lag_under_a_floor_and_polls_under_a_fixed_loop(mean: float) -> None:
    rng = random.Random(7)
    times = RenderTimes()
    for _ in range(30):
        times.observe("kind", mean * rng.uniform(0.8, 1.2))
    policy = PollPolicy(floor=5.0)
    lags, polls, fixed = [], [], []
    for _ in range(50):
        render = mean * rng.uniform(0.8, 1.2)
        count, lag = simulate(policy, render, times.expected("kind"))
        lags.append(lag)
        polls.append(count)
        fixed.append(math.ceil(render / 15.0))
    lags.sort()
    assert lags[len(lags) // 2] <= 5.0  # the median lag: under one poll interval
    assert sum(polls) < sum(fixed) or mean < 60


def test_a_task_far_past_its_expectation_backs_off() -> None:
    policy = PollPolicy(floor=1.0, ceiling=60.0)
    assert policy.next_delay(age=100, expected=Expectation(8, 10)) > 1.0
    assert policy.next_delay(age=11, expected=Expectation(8, 10)) == 1.0


def test_the_first_poll_waits_for_the_early_end() -> None:
    policy = PollPolicy(floor=5.0, ceiling=600.0)
    assert policy.next_delay(age=0, expected=Expectation(100, 140)) == 95.0


def test_cold_start_polls_a_long_render_fewer_times_than_a_fixed_loop() -> None:
    polls, lag = simulate(PollPolicy(floor=5.0), 240.0, expected=None)
    assert polls <= 240.0 / 15.0
    assert lag <= 240.0 / 4


def test_render_times_spread_by_kind() -> None:
    times = RenderTimes()
    assert times.expected("a") is None
    for seconds in range(10, 30):
        times.observe("a", seconds)
    times.observe("b", 99)
    spread = times.expected("a")
    assert spread is not None and 13 <= spread.early <= 16 and 26 <= spread.late <= 28
    assert times.expected("b") == Expectation(99, 99)
