"""AWS clients that fail on a schedule, passing everything else to moto.

They stand in for AWS's own failures (throttling, partial PutEvents
failures, an unreachable queue) that moto does not produce on demand; the
handler under test is the real one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def client_error(code: str, status: int = 400, operation: str = "PutEvents") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


class FaultyEvents:
    """PutEvents where chosen entries fail on chosen attempts.

    ``entry_faults[sequence_number]`` lists the error codes of that entry's
    first attempts (then it succeeds); ``request_faults[call]`` raises an
    exception for the whole call number ``call`` (0-based).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entry_faults: dict[str, list[str]] = {}
        self.request_faults: dict[int, Exception] = {}
        self.fail_every_entry: Callable[[dict], str | None] | None = None
        self.calls: list[list[dict[str, Any]]] = []
        self.attempts: defaultdict[str, int] = defaultdict(int)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        call = len(self.calls)
        self.calls.append(Entries)
        if call in self.request_faults:
            raise self.request_faults[call]
        codes = [self._fault(entry) for entry in Entries]
        good = [entry for entry, code in zip(Entries, codes, strict=True) if code is None]
        real = iter(self.client.put_events(Entries=good)["Entries"] if good else [])
        results = [
            next(real) if code is None else {"ErrorCode": code, "ErrorMessage": f"injected {code}"}
            for code in codes
        ]
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _fault(self, entry: dict[str, Any]) -> str | None:
        sequence = json.loads(entry["Detail"])["sequenceNumber"]
        attempt = self.attempts[sequence]
        self.attempts[sequence] += 1
        if self.fail_every_entry is not None:
            code = self.fail_every_entry(entry)
            if code:
                return code
        schedule = self.entry_faults.get(sequence, [])
        return schedule[attempt] if attempt < len(schedule) else None

    def sent_sequences(self, call: int) -> list[str]:
        return [json.loads(e["Detail"])["sequenceNumber"] for e in self.calls[call]]


class FaultySqs:
    """SendMessageBatch that can be made unreachable for a number of calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.down_for_calls = 0
        self.calls = 0
        self.error = client_error(
            "AWS.SimpleQueueService.ServiceUnavailable", 503, "SendMessageBatch"
        )

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.down_for_calls:
            raise self.error
        return self.client.send_message_batch(**kwargs)
