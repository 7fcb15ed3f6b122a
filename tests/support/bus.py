"""An in-memory classic EventBridge bus (PutEvents) that fails on a schedule or under a quota.

Fast enough for property tests over hundreds of batches. It follows the API's
response shape (per-entry results in request order, FailedEntryCount) and
keeps what it accepted, in order.

- ``entry_faults[eventID]``: the error codes of that entry's first attempts (None: accepted);
  ``"Lost"`` accepts the entry but leaves its result out, as a truncated answer would.
- ``request_faults[call]``: the whole call number ``call`` (0-based) fails: an error code
  (raised as that service error), ``"AcceptedThenTimeout"`` (the entries are taken, then
  the answer times out), or ``"Unparseable"`` (taken, then a 200 botocore cannot parse).
- ``per_second``: the account's PutEvents quota, a token bucket as AWS applies it: an
  entry that finds no token is throttled (per entry, in an HTTP 200), a request that finds
  none at all is throttled as a whole. Each call takes ``latency_s`` on the clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ReadTimeoutError
from botocore.parsers import ResponseParserError

from tests.support.faults import client_error

# Per-entry codes a schedule may hold (None: accepted).
ENTRY_CODES = (None, "ThrottlingException", "InternalException", "ValidationException", "Lost")
# Whole-call faults a schedule may hold.
REQUEST_FAULTS = (
    "ThrottlingException",
    "InternalException",
    "AcceptedThenTimeout",
    "Unparseable",
)
# Retryable per-entry and per-call codes, for tests that count what was parked.
RETRYABLE = {"ThrottlingException", "InternalException", "InternalFailure", "Lost"}


def raise_request_fault(fault: str) -> None:
    """The whole call fails before the bus takes anything."""
    status = 429 if "Throttl" in fault else 500 if "Internal" in fault else 400
    raise client_error(fault, status)


def answer_lost(fault: str | None) -> None:
    """The bus took the entries, and then the answer was lost."""
    if fault == "AcceptedThenTimeout":
        raise ReadTimeoutError(endpoint_url="https://events.local")
    if fault == "Unparseable":
        raise ResponseParserError("Unable to parse response (no element found)")


class MemoryBus:
    """PutEvents on a classic bus: faults by schedule, an optional quota."""

    def __init__(
        self,
        entry_faults: Mapping[str, list[str | None]] | None = None,
        request_faults: Mapping[int, str] | Iterable[int] | None = None,
        per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        latency_s: float = 0.0,
    ) -> None:
        self.entry_faults = dict(entry_faults or {})
        faults = request_faults or {}
        self.request_faults = (
            dict(faults)
            if isinstance(faults, Mapping)
            else dict.fromkeys(faults, "ThrottlingException")
        )
        self.per_second = per_second
        self.clock = clock
        self.latency_s = latency_s
        self.tokens = per_second or 0.0  # one second's worth, like a bucket that filled up
        self.updated = clock()
        self.lock = threading.Lock()
        self.published: list[str] = []  # eventIDs, in the order accepted
        self.details: list[dict[str, Any]] = []  # the accepted entries' details
        self.calls = 0
        self.throttled = 0
        self.attempts: defaultdict[str, int] = defaultdict(int)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10
        if self.latency_s:
            advance = getattr(self.clock, "advance", None)
            (advance or time.sleep)(self.latency_s)
        with self.lock:
            call = self.calls
            self.calls += 1
            fault = self.request_faults.get(call)
            if fault and fault not in ("AcceptedThenTimeout", "Unparseable"):
                raise_request_fault(fault)
            self._refill()
            if self.per_second is not None and self.tokens < 1:
                self.throttled += len(Entries)
                raise client_error("ThrottlingException")
            results = [self._one(entry, fault is None) for entry in Entries]
        answer_lost(fault)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _refill(self) -> None:
        if self.per_second is None:
            return
        now = self.clock()
        self.tokens = min(self.per_second, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now

    def _one(self, entry: dict[str, Any], scheduled: bool) -> dict[str, Any]:
        detail = json.loads(entry["Detail"])
        event_id = detail["eventID"]
        attempt = self.attempts[event_id]
        self.attempts[event_id] += 1
        schedule = self.entry_faults.get(event_id, [])
        code = schedule[attempt] if scheduled and attempt < len(schedule) else None
        if code and code != "Lost":
            return {"ErrorCode": code, "ErrorMessage": "scheduled"}
        if self.per_second is not None:
            if self.tokens < 1:
                self.throttled += 1
                return {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            self.tokens -= 1
        self.published.append(event_id)
        self.details.append(detail)
        return {} if code == "Lost" else {"EventId": f"id-{len(self.published)}"}
