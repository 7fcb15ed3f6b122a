"""The ordered path (event-busv2): 1,000 records of 200 items by 5 changes, requests and time.

The new custom event bus has no local server (moto does not serve it), so the
handler's ordered delivery talks to an in-process stand-in that answers every
PutEvents call after a fixed latency: the count of requests and the effect of
keeping one change per item in flight are measured; HTTP and botocore are not.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

from bench.workload import record
from fanout import Clients, Settings, build_runtime, process

BUS_V2 = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
ITEMS, CHANGES = 200, 5


class _Bus:
    """PutEvents that sleeps latency_s and publishes everything."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.calls = 0

    def put_events(self, EventBusArn: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        time.sleep(self.latency_s)
        return {"Entries": [{"EventId": "e", "SuccessCode": "PUBLISHED"} for _ in Entries]}


def changes_of_items(item_bytes: int = 1024) -> dict[str, Any]:
    """ITEMS items changed CHANGES times each, interleaved as a busy table's stream is."""
    records = []
    for seq in range(ITEMS * CHANGES):
        raw = record(seq, item_bytes)
        keys = {"orderId": {"S": f"o-{seq % ITEMS:08d}"}}
        raw["dynamodb"]["Keys"] = keys
        raw["dynamodb"]["NewImage"].update(keys)
        records.append(raw)
    return {"Records": records}


def measure(latency_ms: float, concurrency: int = 8) -> tuple[int, float]:
    """(PutEvents calls, wall seconds) for one invocation of the batch."""
    settings = Settings(
        event_bus_name=BUS_V2, dlq_url="https://sqs.local/1/dlq", publish_concurrency=concurrency
    )
    bus = _Bus(latency_ms / 1000)
    runtime = build_runtime(settings, Clients(bus))
    event = changes_of_items()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF log line
        response = process(event, None, runtime)
    elapsed = time.perf_counter() - started
    assert response == {"batchItemFailures": []}, "every record must be published"
    return bus.calls, elapsed
