"""An in-memory new custom event bus (eventbridgev2 PutEvents) that fails on a schedule.

It keeps what the real bus promises its subscribers (a FIFO log per
EventGroupId, one event per DeduplicationId) and checks what the handler
promises it: never two entries of one group in one request, nor in two
requests at once. Fast enough for property tests over hundreds of schedules.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

from tests.support.bus import answer_lost, raise_request_fault

# Per-entry codes a schedule may hold (None: accepted).
ENTRY_CODES = (None, "ThrottlingException", "InternalException", "InvalidInputException", "Lost")


class MemoryBusV2:
    """PutEvents: entry faults by eventID and attempt, request faults by call number.

    ``"Lost"`` accepts the entry but leaves its result out, as a truncated
    answer would; ``"AcceptedThenTimeout"`` and ``"Unparseable"`` accept every
    entry of the call and then lose the answer, so the handler cannot know
    they landed (tests.support.bus).
    """

    def __init__(
        self,
        entry_faults: dict[str, list[str | None]] | None = None,
        request_faults: dict[int, str] | None = None,
    ) -> None:
        self.entry_faults = entry_faults or {}
        self.request_faults = request_faults or {}
        self.log: defaultdict[str, list[str]] = defaultdict(list)  # group -> eventIDs
        self.accepted: list[tuple[int, str]] = []  # (round, eventID) in acceptance order
        self.dedup: set[str] = set()
        self.calls = 0
        self.requests: list[list[str]] = []  # eventIDs of each call
        self.attempts: defaultdict[str, int] = defaultdict(int)
        self.round = 0  # set by the test: which invocation is running
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def put_events(self, EventBusArn: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert ":event-busv2/" in EventBusArn
        assert 1 <= len(Entries) <= 100
        groups = {e["SystemMetadata"]["EventGroupId"] for e in Entries}
        assert len(groups) == len(Entries), "two entries of one group in one request"
        with self._lock:
            assert not groups & self._in_flight, "one group in two requests at once"
            self._in_flight |= groups
            call = self.calls
            self.calls += 1
            self.requests.append([json.loads(e["Detail"])["eventID"] for e in Entries])
        try:
            return self._put(call, Entries)
        finally:
            with self._lock:
                self._in_flight -= groups

    def _put(self, call: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
        fault = self.request_faults.get(call)
        if fault and fault not in ("AcceptedThenTimeout", "Unparseable"):
            raise_request_fault(fault)
        results: list[dict[str, Any]] = []
        for entry in entries:
            event_id = json.loads(entry["Detail"])["eventID"]
            attempt = self.attempts[event_id]
            self.attempts[event_id] += 1
            schedule = self.entry_faults.get(event_id, [])
            code = schedule[attempt] if attempt < len(schedule) and fault is None else None
            if code and code != "Lost":
                results.append({"ErrorCode": code, "ErrorMessage": "scheduled"})
                continue
            result = self._accept(entry, event_id)
            results.append({} if code == "Lost" else result)
        answer_lost(fault)
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedEntryCount": failed, "Entries": results}

    def _accept(self, entry: dict[str, Any], event_id: str) -> dict[str, Any]:
        meta = entry["SystemMetadata"]
        with self._lock:
            if meta["DeduplicationId"] in self.dedup:
                return {"SuccessCode": "DEDUPLICATED"}
            self.dedup.add(meta["DeduplicationId"])
            log = self.log[meta["EventGroupId"]]
            log.append(event_id)
            self.accepted.append((self.round, event_id))
            number = len(log)
        return {
            "EventId": f"id-{event_id}",
            "SequenceNumber": str(number),
            "SuccessCode": "PUBLISHED",
        }
