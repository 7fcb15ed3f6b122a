"""In-memory EventBridge and SQS endpoints that fail on a schedule.

Fast enough for property-based tests with hundreds of random batches; they
follow the APIs' response shapes (per-entry results in request order,
Successful/Failed lists) and count what was accepted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

from tests.unit.faults import client_error


class MemoryEvents:
    """PutEvents: entry faults by eventID and attempt, request faults by call number."""

    def __init__(self, entry_faults: dict[str, list[str | None]], request_faults: set[int]) -> None:
        self.entry_faults = entry_faults
        self.request_faults = request_faults
        self.published: list[str] = []  # eventIDs, in the order accepted
        self.calls = 0
        self.attempts: defaultdict[str, int] = defaultdict(int)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10
        call = self.calls
        self.calls += 1
        if call in self.request_faults:
            raise client_error("ThrottlingException")
        results = []
        for entry in Entries:
            event_id = json.loads(entry["Detail"])["eventID"]
            attempt = self.attempts[event_id]
            self.attempts[event_id] += 1
            schedule = self.entry_faults.get(event_id, [])
            code = schedule[attempt] if attempt < len(schedule) else None
            if code:
                results.append({"ErrorCode": code, "ErrorMessage": "scheduled"})
            else:
                self.published.append(event_id)
                results.append({"EventId": f"id-{len(self.published)}"})
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedEntryCount": failed, "Entries": results}


class MemorySqs:
    """SendMessageBatch that is down for its first ``down_for_calls`` calls."""

    def __init__(self, down_for_calls: int = 0) -> None:
        self.down_for_calls = down_for_calls
        self.calls = 0
        self.bodies: list[dict[str, Any]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        assert 1 <= len(Entries) <= 10
        self.calls += 1
        if self.calls <= self.down_for_calls:
            raise client_error("ServiceUnavailable", 503, "SendMessageBatch")
        self.bodies += [json.loads(e["MessageBody"]) for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


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


class QuotaEvents:
    """PutEvents under an account quota: a token bucket of ``per_second`` entries.

    As AWS does, an entry that finds no token fails with ThrottlingException
    (per entry, in an HTTP 200 answer); a request that finds none at all is
    throttled as a whole. Each call takes ``latency_s`` on the clock.
    """

    def __init__(
        self, per_second: float, clock: Any = time.monotonic, latency_s: float = 0.0
    ) -> None:
        self.per_second = per_second
        self.burst = per_second  # one second's worth, like a token bucket that filled up
        self.clock = clock
        self.latency_s = latency_s
        self.tokens = self.burst
        self.updated = clock()
        self.lock = threading.Lock()
        self.calls = 0
        self.throttled = 0
        self.published: list[str] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10
        if self.latency_s:
            advance = getattr(self.clock, "advance", None)
            (advance or time.sleep)(self.latency_s)
        with self.lock:
            self.calls += 1
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
            self.updated = now
            if self.tokens < 1:
                self.throttled += len(Entries)
                raise client_error("ThrottlingException")
            results = []
            for entry in Entries:
                if self.tokens >= 1:
                    self.tokens -= 1
                    self.published.append(json.loads(entry["Detail"])["eventID"])
                    results.append({"EventId": f"id-{len(self.published)}"})
                else:
                    self.throttled += 1
                    results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate"})
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedEntryCount": failed, "Entries": results}
