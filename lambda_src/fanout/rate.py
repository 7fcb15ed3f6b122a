"""One publishing rate for every thread of the execution environment, learned from throttling.

PutEvents is limited per account and region (entries per second). Throttling is
back-pressure, not an error: every request of every thread draws from one
token bucket whose rate falls by half when AWS throttles (multiplicative
decrease) and grows back by a small step per second of successful sending
(additive increase). The runtime keeps the object across invocations, so the
next batch starts at the rate learned by the last one.

The interface is the one any transport needs: ``acquire`` before a call,
``throttled`` or ``succeeded`` after it, and ``per_second`` for the metrics.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fanout.deadline import CALL_MIN_MS, Deadline

# Before the first throttle nothing is known about the quota: start above the
# largest default one (10,000 entries/s, "Amazon EventBridge quotas") so an
# unthrottled function is never slowed down by its own limiter.
CEILING_PER_SECOND = 20_000.0
FLOOR_PER_SECOND = 1.0
DECREASE = 0.5  # the rate kept after a throttle
INCREASE_PER_SECOND = 20.0  # entries/s added per second of successful sending
# Throttles of requests started before the last decrease say nothing new: ignore
# them for this long, or eight threads throttled at once would divide the rate by 256.
DECREASE_COOLDOWN_S = 0.25
BURST_S = 0.1  # tokens held at most: a tenth of a second of sending


class AdaptiveRate:
    """An AIMD token bucket in entries per second; thread-safe."""

    def __init__(
        self,
        per_second: float = CEILING_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = min(CEILING_PER_SECOND, max(FLOOR_PER_SECOND, per_second))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self._capacity()
        self._updated = clock()
        self._last_decrease = -float("inf")
        self._accepted: deque[tuple[float, int]] = deque()  # (time, entries), the last second
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

    def throttled(self) -> None:
        """AWS throttled a request or entries of it: halve the rate (once per cooldown).

        The first throttle after a fast start also caps the rate at what was
        actually accepted over the last second, which is close to the quota.
        """
        with self._lock:
            now = self._clock()
            if now - self._last_decrease < DECREASE_COOLDOWN_S:
                return
            self._last_decrease = now
            rate = self._rate * DECREASE
            accepted = self._accepted_last_second(now)
            if accepted:
                rate = min(rate, max(accepted * DECREASE, accepted - INCREASE_PER_SECOND))
            self._rate = max(FLOOR_PER_SECOND, rate)
            self._tokens = min(self._tokens, 0.0)  # no burst right after a throttle
            self.throttles += 1

    def succeeded(self, entries: int) -> None:
        """``entries`` were accepted: grow the rate by INCREASE_PER_SECOND per second's worth."""
        if entries <= 0:
            return
        with self._lock:
            now = self._clock()
            self._accepted.append((now, entries))
            while now - self._accepted[0][0] > 1.0:
                self._accepted.popleft()
            step = INCREASE_PER_SECOND * entries / self._rate
            self._rate = min(CEILING_PER_SECOND, self._rate + step)

    def _accepted_last_second(self, now: float) -> int:
        while self._accepted and now - self._accepted[0][0] > 1.0:
            self._accepted.popleft()
        return sum(n for _, n in self._accepted)
