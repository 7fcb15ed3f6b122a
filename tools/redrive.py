"""Re-publish events parked in the fan-out's dead-letter queue, after the cause is fixed.

    python -m tools.redrive --queue-url URL [--event-bus NAME] [--reason R ...] [--dry-run]

Messages that carry their ``event`` are sent to the bus again (to the bus
they were meant for, or --event-bus) and deleted once PutEvents accepts
them. Messages without one (truncated, or malformed records) are left in the
queue and listed: their items have to be read again from the table by key.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

PUT_EVENTS_MAX_ENTRIES = 10


@dataclass
class Summary:
    republished: int = 0
    failed: int = 0
    left: Counter[str] = field(default_factory=Counter)


def entry_of(body: dict[str, Any], bus: str | None) -> dict[str, Any] | None:
    """The PutEvents entry stored in a DLQ message, or None if it has none."""
    event = body.get("event")
    if not isinstance(event, dict) or body.get("truncated"):
        return None
    entry = {k: event[k] for k in ("Source", "DetailType", "Detail", "Resources") if k in event}
    entry["EventBusName"] = bus or event.get("EventBusName")
    if event.get("Time"):
        entry["Time"] = datetime.fromisoformat(event["Time"])
    return entry


def redrive(
    sqs: Any,
    events: Any,
    queue_url: str,
    bus: str | None = None,
    reasons: set[str] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> Summary:
    """Drain the queue once, re-publishing what can be re-published."""
    summary = Summary()
    seen: set[str] = set()
    kept: list[str] = []  # receipt handles of messages to make visible again
    while limit is None or summary.republished + summary.failed < limit:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        ready = []
        for message in fresh:
            seen.add(message["MessageId"])
            body = json.loads(message["Body"])
            entry = entry_of(body, bus)
            if entry is None or (reasons and body.get("reason") not in reasons):
                summary.left[body.get("reason", "unknown")] += 1
                kept.append(message["ReceiptHandle"])
            elif dry_run:
                summary.republished += 1
                kept.append(message["ReceiptHandle"])
            else:
                ready.append((message, entry))
        _publish(sqs, events, queue_url, ready, summary)
    _release(sqs, queue_url, kept)
    return summary


def _release(sqs: Any, queue_url: str, handles: list[str]) -> None:
    """Make the messages we leave in the queue visible again at once."""
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )


def _publish(sqs: Any, events: Any, queue_url: str, ready: list, summary: Summary) -> None:
    for start in range(0, len(ready), PUT_EVENTS_MAX_ENTRIES):
        chunk = ready[start : start + PUT_EVENTS_MAX_ENTRIES]
        results = events.put_events(Entries=[entry for _, entry in chunk])["Entries"]
        done = []
        for (message, _), result in zip(chunk, results, strict=True):
            if result.get("ErrorCode"):
                summary.failed += 1
                print(f"still failing: {result['ErrorCode']}: {result.get('ErrorMessage', '')}")
            else:
                done.append(message)
        summary.republished += len(done)
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True, help="the module's dlq_url output")
    parser.add_argument("--event-bus", help="publish here instead of each event's own bus")
    parser.add_argument("--reason", action="append", help="only messages with this reason")
    parser.add_argument("--limit", type=int, help="stop after this many messages")
    parser.add_argument("--dry-run", action="store_true", help="count, publish nothing")
    parser.add_argument("--endpoint-url", help="for a local stack")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    sqs = session.client("sqs", endpoint_url=args.endpoint_url)
    events = session.client("events", endpoint_url=args.endpoint_url)
    summary = redrive(
        sqs,
        events,
        args.queue_url,
        args.event_bus,
        set(args.reason or ()),
        args.dry_run,
        args.limit,
    )
    verb = "would re-publish" if args.dry_run else "re-published"
    print(f"{verb} {summary.republished}; failed again {summary.failed}")
    for reason, count in sorted(summary.left.items()):
        print(f"left in the queue: {count} x {reason} (no event to re-publish, or filtered out)")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
