"""One structured log line per invocation, in CloudWatch Embedded Metric Format.

CloudWatch turns the line into metrics without an extra API call. Counts
only: no item data is ever written here.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

NAMESPACE = "DynamoDBStreamFanout"

_METRICS = (
    ("Records", "Count"),
    ("Published", "Count"),
    ("Retried", "Count"),
    ("DeadLettered", "Count"),
    ("ClaimChecked", "Count"),
    ("Reported", "Count"),
    ("Throttled", "Count"),
    ("HeldFromStream", "Count"),
    ("PublishRate", "Count/Second"),
    ("PutEventsCalls", "Count"),
    ("DurationMs", "Milliseconds"),
)


@dataclass(slots=True)
class Counts:
    """What one invocation did with its batch."""

    records: int = 0
    published: int = 0
    retried: int = 0
    reported: int = 0
    put_events_calls: int = 0
    dead_letter_calls: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    not_parked: int = 0
    claim_checked: int = 0  # published as a pointer, the full event in S3
    throttled: int = 0  # entry results throttled by PutEvents (each retry counts again)
    held: int = 0  # retryable, parked by the safety valve because the stream would drop them
    publish_rate: float = 0.0  # the shared rate at the end, entries/s
    deduplicated: int = 0  # event-busv2: delivered entries the bus already had
    held_back: int = 0  # event-busv2: reported back behind an unpublished change of their item


def emf_line(counts: Counts, function_name: str, duration_ms: float) -> str:
    """The EMF JSON document for one invocation."""
    values = {
        "Records": counts.records,
        "Published": counts.published,
        "Retried": counts.retried,
        "DeadLettered": sum(counts.dead_lettered.values()),
        "ClaimChecked": counts.claim_checked,
        "Reported": counts.reported,
        "Throttled": counts.throttled,
        "HeldFromStream": counts.held,
        "PublishRate": round(counts.publish_rate, 1),
        "PutEventsCalls": counts.put_events_calls,
        "DurationMs": round(duration_ms, 1),
    }
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": n, "Unit": u} for n, u in _METRICS],
                }
            ],
        },
        "FunctionName": function_name,
        "message": "fan-out batch done",
        **values,
        "DeadLetteredByReason": dict(counts.dead_lettered),
        "DeadLetterCalls": counts.dead_letter_calls,
        "NotParked": counts.not_parked,
        "Deduplicated": counts.deduplicated,
        "HeldBack": counts.held_back,
    }
    return json.dumps(document, separators=(",", ":"))


def emit(counts: Counts, function_name: str, duration_ms: float, out: TextIO | None = None) -> None:
    """Write the line to stdout, where Lambda ships it to CloudWatch Logs."""
    stream = out or sys.stdout
    stream.write(emf_line(counts, function_name, duration_ms) + "\n")
    stream.flush()
