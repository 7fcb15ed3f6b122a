"""In-memory EventBridge and SQS endpoints that fail on a schedule.

Fast enough for property-based tests with hundreds of random batches; they
follow the APIs' response shapes (per-entry results in request order,
Successful/Failed lists) and count what was accepted.
"""

from __future__ import annotations

import json
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
