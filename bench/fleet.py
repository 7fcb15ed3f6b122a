"""A fleet of execution environments sharing one PutEvents quota, on virtual time.

Each environment runs the handler's own rate (``fanout.rate.AdaptiveRate``)
on a simulated clock, with ``concurrency`` calls in flight at most, each call
of up to 10 entries taking ``latency_s`` (give or take half of it, at random).
The account's quota is a token bucket of ``quota`` entries per second (one
second of burst), checked entry by entry as PutEvents does: an entry that
finds no token is throttled, and is sent again. Environments have a backlog
(a shard's changes waiting): either endless (a saturated fleet), or fed at a
steady rate with a burst on top.

Measured: the share of the quota used, how fairly it is shared (Jain's
index), the calls per accepted entry, how long a newcomer takes more than its
share, and, after a burst, the drain rate and the oldest entry's wait
(the shard's iterator age).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fanout.deadline import Deadline
from fanout.rate import AdaptiveRate

ENTRIES = 10  # per PutEvents request


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Quota:
    """The account's PutEvents quota: a token bucket refilled at ``per_second``."""

    def __init__(self, clock: Clock, per_second: float) -> None:
        self.clock = clock
        self.per_second = per_second
        self.tokens = per_second
        self.updated = 0.0

    def take(self, wanted: int) -> int:
        now = self.clock()
        self.tokens = min(self.per_second, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted


@dataclass
class Environment:
    """One execution environment: its rate, its calls in flight, its backlog."""

    name: int
    rate: AdaptiveRate
    concurrency: int
    joined: float
    backlog: deque[float] = field(default_factory=deque)  # arrival times of waiting entries
    endless: bool = False
    in_flight: int = 0
    accepted: list[tuple[float, int]] = field(default_factory=list)  # (time, entries)
    calls: int = 0
    oldest_wait: float = 0.0  # the longest an entry waited from arrival to acceptance


@dataclass
class Result:
    seconds: float
    quota: float
    used: float  # share of the quota used in the measured window
    fairness: float  # Jain's index over the environments present all window
    calls_per_entry: float
    throttled_share: float  # of entries sent, throttled
    newcomer_share: list[float] = field(default_factory=list)  # per second after joining, x fair
    drain_share: float = 0.0  # of the quota used while a backlog was draining
    worst_age_s: float = 0.0
    ideal_age_s: float = 0.0
    drained_s: float = 0.0  # after the burst ended
    ideal_drained_s: float = 0.0


class Fleet:
    """Environments, the quota and an event queue on one virtual clock."""

    def __init__(self, quota: float, latency_s: float = 0.02, seed: int = 7) -> None:
        self.clock = Clock()
        self.quota = Quota(self.clock, quota)
        self.latency_s = latency_s
        self.random = random.Random(seed)
        self.environments: list[Environment] = []
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.sent = 0
        self.throttled = 0
        self.calls = 0

    def add(self, concurrency: int = 8, endless: bool = True, at: float = 0.0) -> Environment:
        rate = AdaptiveRate(clock=self.clock, sleep=lambda s: None)
        env = Environment(len(self.environments), rate, concurrency, at, endless=endless)
        self.environments.append(env)
        self.at(at, lambda: self._pump(env))
        return env

    def feed(self, env: Environment, per_second: float, start: float, end: float) -> None:
        """Changes arriving on the environment's shard at a steady rate (in 10 ms steps)."""
        step, owed = 0.01, 0.0
        moment = start
        while moment < end:
            owed += per_second * step
            count, owed = int(owed), owed - int(owed)
            if count:
                self.at(moment, functools.partial(self._arrive, env, moment, count))
            moment += step

    def at(self, moment: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (moment, next(self._order), action))

    def run(self, until: float) -> None:
        while self._events and self._events[0][0] <= until:
            moment, _, action = heapq.heappop(self._events)
            self.clock.now = moment
            action()
        self.clock.now = until

    def _arrive(self, env: Environment, moment: float, count: int) -> None:
        env.backlog.extend([moment] * count)
        self._pump(env)

    def _pump(self, env: Environment) -> None:
        """Start calls while the environment has a free thread and entries.

        Each thread takes its tokens from the shared rate (waiting its turn, as
        ``acquire`` makes threads do) and then calls.
        """
        while env.in_flight < env.concurrency and (env.endless or env.backlog):
            entries = ENTRIES if env.endless else min(ENTRIES, len(env.backlog))
            wait = _Wait()
            env.rate._sleep = wait
            env.rate.acquire(entries, Deadline.unlimited())
            batch = [] if env.endless else [env.backlog.popleft() for _ in range(entries)]
            env.in_flight += 1
            start = self.clock.now + wait.seconds
            self.at(start, functools.partial(self._call, env, batch, entries, start))

    def _call(self, env: Environment, batch: list[float], entries: int, started: float) -> None:
        granted = self.quota.take(entries)
        env.calls += 1
        self.calls += 1
        self.sent += entries
        self.throttled += entries - granted
        done = self.clock.now + self.latency_s * self.random.uniform(0.5, 1.5)
        self.at(done, lambda: self._answer(env, batch, entries, granted, started))

    def _answer(
        self, env: Environment, batch: list[float], entries: int, granted: int, started: float
    ) -> None:
        env.in_flight -= 1
        now = self.clock.now
        if granted:
            env.accepted.append((now, granted))
            env.rate.succeeded(granted)
            for arrived in batch[:granted]:
                env.oldest_wait = max(env.oldest_wait, now - arrived)
        if granted < entries:
            env.rate.throttled(started)
            env.backlog.extendleft(reversed(batch[granted:]))  # sent again first
        self._pump(env)


class _Wait:
    """Captures how long ``acquire`` would have slept."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, seconds: float) -> None:
        self.seconds = seconds


def accepted_between(env: Environment, start: float, end: float) -> int:
    return sum(n for moment, n in env.accepted if start <= moment < end)


def jain(values: list[float]) -> float:
    total = sum(values)
    squares = sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else 1.0


def saturated(
    environments: int = 50, quota: float = 10_000, seconds: float = 40, join: float = 20.0
) -> Result:
    """A fleet with endless backlogs; one newcomer joins at ``join`` once the others settled."""
    fleet = Fleet(quota)
    for _ in range(environments - 1):
        fleet.add()
    newcomer = fleet.add(at=join)
    fleet.run(seconds)
    window = (join / 2, join)
    old = [e for e in fleet.environments if e is not newcomer]
    per_env = [accepted_between(e, *window) for e in old]
    used = sum(per_env) / (quota * (window[1] - window[0]))
    fair = quota / environments
    seconds_after = range(int(seconds - join))
    shares = [accepted_between(newcomer, join + s, join + s + 1) / fair for s in seconds_after]
    return Result(
        seconds,
        quota,
        used,
        jain([float(v) for v in per_env]),
        fleet.calls / max(1, sum(sum(n for _, n in e.accepted) for e in fleet.environments)),
        fleet.throttled / max(1, fleet.sent),
        newcomer_share=shares,
    )


def lone(quota: float, seconds: float = 60.0) -> Result:
    """One environment alone under the quota: how much of it the rate uses once it learned it."""
    fleet = Fleet(quota)
    env = fleet.add()
    fleet.run(seconds)
    window = (seconds / 3, seconds)
    accepted = accepted_between(env, *window)
    sent = sum(n for _, n in env.accepted)
    return Result(
        seconds,
        quota,
        accepted / (quota * (window[1] - window[0])),
        1.0,
        fleet.calls / max(1, sent),
        fleet.throttled / max(1, fleet.sent),
    )


def newcomers(environments: int = 50, quota: float = 10_000, joins: int = 5) -> list[float]:
    """The newcomer's share of the quota in its first 5 s, against a fair share, for
    ``joins`` different moments of joining (the fleet's state differs at each)."""
    shares = []
    for n in range(joins):
        join = 15.0 + n * 1.37
        result = saturated(environments, quota, seconds=join + 5, join=join)
        shares.append(sum(result.newcomer_share[:5]) / 5)
    return shares


def burst(
    environments: int = 50, quota: float = 10_000, load: float = 0.5, burst_s: float = 10.0
) -> Result:
    """Steady streams at ``load`` of the quota, then twice the quota on top for ``burst_s``:
    how much of the quota drains the backlog, and how old its oldest entry gets, against a
    fluid fleet that uses the whole quota (the ideal)."""
    fleet = Fleet(quota)
    per_env = quota * load / environments
    start, end = 20.0, 20.0 + burst_s
    horizon = end + 2 * burst_s * 2 / (1 - load) + 20.0
    envs = [fleet.add(endless=False) for _ in range(environments)]
    for env in envs:
        fleet.feed(env, per_env, 0.0, horizon)
        fleet.feed(env, 2 * quota / environments, start, end)
    backlog: list[tuple[float, int]] = []
    moment = 0.0
    while moment < horizon:
        moment += 0.5
        fleet.run(moment)
        backlog.append((moment, sum(len(e.backlog) for e in envs)))
    peak = max(n for _, n in backlog)
    drained = next((m for m, n in backlog if m > end and n < 0.01 * peak), horizon)
    used = sum(accepted_between(e, start, drained) for e in envs)
    # the ideal: backlog (2 * quota * burst_s on top of a load below the quota) drained at the
    # full quota; the oldest entry is the last of the burst, behind what came before it
    ideal_backlog = (2 + load - 1) * quota * burst_s
    return Result(
        horizon,
        quota,
        used / (quota * (drained - start)),
        jain([float(accepted_between(e, start, drained)) for e in envs]),
        fleet.calls / max(1, sum(sum(n for _, n in e.accepted) for e in envs)),
        fleet.throttled / max(1, fleet.sent),
        drain_share=used / (quota * (drained - start)),
        worst_age_s=max(e.oldest_wait for e in envs),
        ideal_age_s=ideal_backlog / quota,
        drained_s=drained - end,
        ideal_drained_s=ideal_backlog / ((1 - load) * quota),
    )


def summary() -> dict[str, float]:
    """The figures BENCHMARKS.md shows: a fleet of 50 under 10,000 entries/s; a burst on
    50 environments (small shares) and on 5 (large shares)."""
    steady = saturated()
    joined = sorted(newcomers())
    many = burst(environments=50)
    few = burst(environments=5)
    return {
        "used": steady.used,
        "fairness": steady.fairness,
        "throttled": steady.throttled_share,
        "newcomer_median": joined[len(joined) // 2],
        "newcomer_max": joined[-1],
        "drain_50": many.drain_share,
        "age_50": many.worst_age_s,
        "drained_50": many.drained_s,
        "drain_5": few.drain_share,
        "age_5": few.worst_age_s,
        "drained_5": few.drained_s,
        "ideal_age": few.ideal_age_s,
        "ideal_drained": few.ideal_drained_s,
    }


if __name__ == "__main__":
    for name, value in summary().items():
        print(f"{name}: {value:.3f}")
