"""The shared rate in a fleet: execution environments sharing one PutEvents quota, on virtual time.

bench/fleet.py runs the handler's own AdaptiveRate in many environments
against one token bucket (the account's quota); these are small fleets of it,
deterministic, with the properties the rate is built for.
"""

from __future__ import annotations

import math

from bench import fleet
from fanout import Deadline
from fanout.rate import AdaptiveRate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_newcomer_does_not_take_many_times_its_share_of_a_busy_fleet() -> None:
    shares = fleet.newcomers(environments=20, quota=4000, joins=3)
    # its first five seconds, against a fair share (a rate that started at the quota's
    # ceiling took 12 times it)
    assert max(shares) < 4, shares


def test_a_large_share_recovers_after_a_burst() -> None:
    result = fleet.burst(environments=5, quota=2000)
    assert result.drain_share > 0.95, result  # of the quota, while the backlog drains
    assert result.worst_age_s < 1.5 * result.ideal_age_s, result


def test_a_lone_environment_uses_its_quota_and_few_calls_are_throttled() -> None:
    result = fleet.lone(300, seconds=30)
    assert result.used > 0.95 and result.throttled_share < 0.1, result


def test_one_round_of_throttled_calls_lowers_the_rate_once() -> None:
    clock = Clock()
    rate = AdaptiveRate(1000, clock=clock, sleep=lambda s: None)
    started = clock()
    clock.now = 0.05
    for _ in range(8):  # eight calls started together, all throttled
        rate.throttled(started)
    assert rate.per_second == 700 and rate.throttles == 1
    clock.now = 0.1
    rate.throttled(0.06)  # a call started after the decrease: news
    assert math.isclose(rate.per_second, 490)


def test_the_rate_recovers_to_where_it_was_then_probes_slowly() -> None:
    clock = Clock()
    rate = AdaptiveRate(1000, clock=clock, sleep=lambda s: None)
    rate.throttled(None)  # 1000 -> 700
    rate.succeeded(1000)  # over a second of sending at 700/s: back by more than 0.2 * 700
    assert 840 < rate.per_second < 1000
    rate.succeeded(200)
    assert rate.per_second == 1000  # back to where the throttle found it, not beyond
    rate.succeeded(1000)  # a second of sending at 1,000/s beyond it: +200/s
    assert math.isclose(rate.per_second, 1200)


def test_without_a_deadline_there_is_always_room() -> None:
    rate = AdaptiveRate(1)
    assert rate.room(Deadline.unlimited(), 100) == 100
