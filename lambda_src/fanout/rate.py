"""One publishing rate for every thread of the execution environment, learned from throttling.

PutEvents is limited per account and region (entries per second), and every
execution environment of every fan-out in the account draws from it.
Throttling is back-pressure, not an error: every request of every thread
takes its tokens from one bucket whose rate follows what AWS accepts.

- **Start.** Nothing is known about the quota or the other environments, so
  a new environment starts at ``START_PER_SECOND`` and doubles every
  ``SLOW_START_DOUBLING_S`` of sending while nothing is throttled (slow
  start): an environment joining a busy fleet learns its share within its
  first calls instead of taking far more; a lone one is at full speed
  within a second.
- **Throttled.** The rate falls to ``DECREASE`` of itself, once for each
  round of calls: a throttle reported by a call started before the last
  decrease says nothing new (eight threads throttled together lower it once).
- **Growth.** Back up to the rate the throttle found, it grows by
  ``RECOVERY`` of itself per second of sending, so a large share recovers as
  fast as a small one; beyond it, by ``GROWTH_PER_SECOND`` (additive: every
  environment probes alike, and each decrease takes more from a larger
  share, so the shares of a fleet even out).

The runtime keeps the object across invocations, so the next batch starts at
the rate learned by the last one. The interface is the one the engine needs:
``room`` and ``acquire`` before a call, ``throttled`` or ``succeeded`` after it,
``per_second`` for the metrics. ``bench/fleet.py`` runs fleets of it on
virtual time (BENCHMARKS.md has the figures).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fanout.deadline import CALL_MIN_MS, Deadline

# The most the rate may reach: twice the largest default PutEvents quota
# (10,000 entries/s in us-east-1, us-west-2 and eu-west-1, "Amazon EventBridge quotas").
CEILING_PER_SECOND = 20_000.0
FLOOR_PER_SECOND = 1.0
# A new environment's rate: above a fair share in most fleets, so a lone function is not
# held back for long, and far below what one environment could send.
START_PER_SECOND = 500.0
SLOW_START_DOUBLING_S = 0.25
DECREASE = 0.7  # the rate kept after a throttle
# Back up to the rate of the last decrease, a second of sending adds RECOVERY of the rate
# (a large share recovers as fast as a small one); beyond it, GROWTH_PER_SECOND (every
# environment probes alike, so a fleet's shares even out after each decrease).
RECOVERY = 0.2
GROWTH_PER_SECOND = 200.0
BURST_S = 0.1  # tokens held at most: a tenth of a second of sending


class AdaptiveRate:
    """A token bucket in entries per second whose rate is learned from throttling; thread-safe."""

    def __init__(
        self,
        per_second: float = START_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = min(CEILING_PER_SECOND, max(FLOOR_PER_SECOND, per_second))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._capacity()
        self._updated = clock()
        self._last_decrease = -math.inf
        self._slow_start = True
        self._before_decrease = 0.0  # the rate the last throttle found
        self.throttles = 0  # throttled() calls that lowered the rate

    @property
    def per_second(self) -> float:
        """The current rate, entries per second."""
        return self._rate

    def _capacity(self) -> float:
        return max(10.0, self._rate * BURST_S)

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity(), self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def acquire(self, entries: int, deadline: Deadline) -> bool:
        """Wait until ``entries`` may be sent; False (nothing taken) if the deadline forbids it.

        Tokens are reserved before waiting (the bucket may go negative), so the
        threads are served in the order they ask and none starves.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait_s = max(0.0, (entries - self._tokens) / self._rate)
            if wait_s and not deadline.allows(wait_s * 1000):
                return False
            self._tokens -= entries
        if wait_s:
            self._sleep(wait_s)
        return True

    def room(self, deadline: Deadline, wanted: int) -> int:
        """How many of ``wanted`` entries could still be sent before the deadline at this rate.

        A request larger than this would wait past the deadline for its tokens:
        the engine sends a smaller one instead of none. The deadline is read
        only when the bucket does not already hold them.
        """
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= wanted or not deadline.limited:
                return wanted
            tokens, rate = self._tokens, self._rate
        spare_s = (deadline.call_limit_ms() - CALL_MIN_MS) / 1000
        if math.isnan(spare_s) or spare_s * rate >= wanted:  # unusable or ample: no limit
            return wanted
        return max(0, min(wanted, int(tokens + max(0.0, spare_s) * rate)))

    def throttled(self, started: float | None = None) -> None:
        """AWS throttled entries of a call made at ``started`` (the clock's reading).

        The rate falls once per round of calls: a call started before the last
        decrease ran at the old rate, so its throttle says nothing new.
        """
        with self._lock:
            if started is not None and started <= self._last_decrease:
                return
            self._last_decrease = self._clock()
            self._slow_start = False
            self._before_decrease = self._rate
            self._rate = max(FLOOR_PER_SECOND, self._rate * DECREASE)
            self._tokens = min(self._tokens, 0.0)  # no burst right after a throttle
            self.throttles += 1

    def succeeded(self, entries: int) -> None:
        """``entries`` were accepted: grow by what a second of sending at this rate earns."""
        if entries <= 0:
            return
        with self._lock:
            probe = GROWTH_PER_SECOND * entries / self._rate
            if self._slow_start:
                self._rate += math.log(2) / SLOW_START_DOUBLING_S * entries
            elif self._rate < self._before_decrease:
                recovered = self._rate + max(probe, RECOVERY * entries)
                self._rate = min(self._before_decrease, recovered)
            else:
                self._rate += probe
            self._rate = min(CEILING_PER_SECOND, self._rate)
