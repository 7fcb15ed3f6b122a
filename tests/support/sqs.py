"""An in-memory SQS dead-letter queue (SendMessageBatch) that is down for its first calls."""

from __future__ import annotations

import json
from typing import Any

from tests.support.faults import client_error


class MemorySqs:
    """SendMessageBatch that is down for its first ``down_for_calls`` calls."""

    def __init__(self, down_for_calls: int = 0) -> None:
        self.down_for_calls = down_for_calls
        self.calls = 0
        self.bodies: list[dict[str, Any]] = []
        self.sizes: list[int] = []  # each message body's size in bytes

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        assert 1 <= len(Entries) <= 10
        self.calls += 1
        if self.calls <= self.down_for_calls:
            raise client_error("ServiceUnavailable", 503, "SendMessageBatch")
        self.bodies += [json.loads(e["MessageBody"]) for e in Entries]
        self.sizes += [len(e["MessageBody"].encode()) for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}
