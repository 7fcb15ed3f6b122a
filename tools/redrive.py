"""Re-publish events parked in the fan-out's dead-letter queue, once the cause is fixed.

    python -m tools.redrive --queue-url URL [--event-bus NAME] [--reason R ...] [--dry-run]

Messages that carry their ``event`` are sent to the bus again (to the bus
they were meant for, or --event-bus) and deleted once PutEvents accepts
them. Messages without one (truncated, or malformed records) stay in the
queue and are listed with their keys: those items have to be read again
from the table.
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

REASONS = ("MalformedRecord", "EventTooLarge", "PutEventsRejected", "RetriesExhausted")
PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge API Reference, PutEvents
PUT_EVENTS_MAX_BYTES = 1024 * 1024  # total entry size must be less than this
EMPTY_RECEIVES_TO_STOP = 2  # SQS may answer empty while messages exist


@dataclass
class Summary:
    republished: int = 0
    failed: int = 0
    left: Counter[str] = field(default_factory=Counter)
    left_keys: list[str] = field(default_factory=list)


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


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's PutEvents entry size formula (14 bytes for Time, UTF-8 for the rest)."""
    texts = [entry.get("Source", ""), entry.get("DetailType", ""), entry.get("Detail", "")]
    texts += entry.get("Resources", [])
    return (14 if "Time" in entry else 0) + sum(len(t.encode("utf-8")) for t in texts)


def chunks(ready: list[tuple[dict, dict]], max_bytes: int) -> list[list[tuple[dict, dict]]]:
    """PutEvents requests: at most 10 entries, total size under the budget."""
    out: list[list[tuple[dict, dict]]] = []
    size = 0
    for item in ready:
        item_size = entry_size(item[1])
        if not out or len(out[-1]) == PUT_EVENTS_MAX_ENTRIES or size + item_size >= max_bytes:
            out.append([])
            size = 0
        out[-1].append(item)
        size += item_size
    return out


def redrive(
    sqs: Any,
    events: Any,
    queue_url: str,
    bus: str | None = None,
    reasons: set[str] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    max_bytes: int = PUT_EVENTS_MAX_BYTES,
) -> Summary:
    """Go through the queue once, re-publishing what can be re-published."""
    summary = Summary()
    seen: set[str] = set()
    kept: list[str] = []  # receipt handles of messages to make visible again
    empty = 0
    while empty < EMPTY_RECEIVES_TO_STOP:
        room = None if limit is None else limit - summary.republished - summary.failed
        if room is not None and room <= 0:
            break
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, room or 10),
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        empty = 0 if fresh else empty + 1
        ready = []
        for message in fresh:
            seen.add(message["MessageId"])
            body = json.loads(message["Body"])
            entry = entry_of(body, bus)
            if entry is None or (reasons and body.get("reason") not in reasons):
                _leave(summary, body)
                kept.append(message["ReceiptHandle"])
            elif dry_run:
                summary.republished += 1
                kept.append(message["ReceiptHandle"])
            else:
                ready.append((message, entry))
        for chunk in chunks(ready, max_bytes):
            _publish(sqs, events, queue_url, chunk, summary)
    _release(sqs, queue_url, kept)
    return summary


def _leave(summary: Summary, body: dict[str, Any]) -> None:
    reason = body.get("reason", "unknown")
    summary.left[reason] += 1
    record = body.get("record") if isinstance(body.get("record"), dict) else {}
    ddb = record.get("dynamodb") if isinstance(record.get("dynamodb"), dict) else {}
    keys = ddb.get("Keys") or {"eventID": record.get("eventID")}
    summary.left_keys.append(f"{reason}: {json.dumps(keys, separators=(',', ':'))}")


def _publish(sqs: Any, events: Any, queue_url: str, chunk: list, summary: Summary) -> None:
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


def _queue_url(text: str) -> str:
    if not text.startswith(("https://", "http://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a queue URL; pass the module's dlq_url output"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.redrive", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--queue-url", required=True, type=_queue_url, help="the dlq_url output")
    parser.add_argument("--event-bus", help="publish here instead of each event's own bus")
    parser.add_argument("--reason", action="append", choices=REASONS, help="only this reason")
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
    for line in summary.left_keys:
        print(f"left in the queue: {line}")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
