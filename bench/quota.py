"""The handler under an account quota: a fake EventBridge that throttles past N entries/s.

One invocation of 1,000 records, with 30 s and with 3 s left, through real
boto3 clients to the fake bus on 127.0.0.1 (bench/fake_eventbridge.py with a
quota). Ideal: every record published or reported back, none parked, and
PutEvents calls at most 1.5 times the minimum (10 entries per call).
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from typing import Any

from bench.fake_eventbridge import fake_eventbridge
from bench.strategies import SETTINGS, events_client
from bench.workload import batch
from fanout import Clients, build_runtime, process


class CountingSqs:
    """SendMessageBatch that accepts everything and counts the messages."""

    def __init__(self) -> None:
        self.messages = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        self.messages += len(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class Context:
    """A Lambda context whose function times out timeout_s after it is made."""

    function_name = "bench"

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


@dataclass(frozen=True)
class QuotaRun:
    timeout_s: float
    records: int
    published: int
    parked: int
    reported: int
    calls: int
    seconds: float
    left_ms: int  # of the invocation when the handler returned
    rate: float  # the learned rate at the end, entries/s


def run(quota: float, records: int, timeout_s: float, latency_ms: float = 20) -> QuotaRun:
    """One invocation in a fresh execution environment against a fresh quota."""
    event = batch(records, 1024)
    with fake_eventbridge(latency_ms, quota) as server:
        client = events_client(server.url)
        sqs = CountingSqs()
        runtime = build_runtime(SETTINGS, Clients(client, sqs))
        context = Context(timeout_s)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            response = process(event, context, runtime)
        seconds = time.perf_counter() - started
        left_ms = context.get_remaining_time_in_millis()
        counts = server.counts()
    return QuotaRun(
        timeout_s,
        records,
        counts["accepted"],
        sqs.messages,
        len(response["batchItemFailures"]),
        counts["calls"],
        seconds,
        left_ms,
        runtime.rate.per_second,
    )
