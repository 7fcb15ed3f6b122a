"""Lambda contexts and clocks: simulated time for whole runs, and real deadlines."""

from __future__ import annotations

import threading
import time


class Context:
    """A Lambda context whose clock the test controls: each reading costs ``per_call_ms``."""

    function_name = "orders-fanout"
    aws_request_id = "test-request"

    def __init__(self, remaining_ms: float = 60_000, per_call_ms: float = 0) -> None:
        self.remaining_ms = remaining_ms
        self.per_call_ms = per_call_ms

    def get_remaining_time_in_millis(self) -> float:
        left = self.remaining_ms
        self.remaining_ms -= self.per_call_ms
        return left


class SimClock:
    """Simulated time for a whole run: sleeping advances it, as does every call."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += max(0.0, seconds)


class SimContext:
    """A Lambda context on a SimClock: the function times out timeout_s after it is made."""

    function_name = "orders-fanout"

    def __init__(self, clock: SimClock, timeout_s: float) -> None:
        self.clock = clock
        self.deadline = clock() + timeout_s

    def get_remaining_time_in_millis(self) -> float:
        return (self.deadline - self.clock()) * 1000


class RealClock:
    """A Lambda context whose function times out timeout_ms after it is made."""

    function_name = "orders-fanout"

    def __init__(self, timeout_ms: float) -> None:
        self.deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)
