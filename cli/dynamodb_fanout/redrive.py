"""`redrive`: re-publish the events parked in the fan-out's dead-letter queue.

One pass over the queue. A message whose event PutEvents accepts is deleted;
anything else stays: what fails again, what has no event (a malformed
record, a body truncated to keys), what is not one of our messages. Messages
left are held invisible during the pass, so each is looked at once, and are
made visible again as soon as the pass ends (also after an error or Ctrl-C),
so the next run sees all of them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynamodb_fanout import pipeline
from dynamodb_fanout.aws import Aws, region_of_arn, region_of_queue, visible_messages
from dynamodb_fanout.errors import CliError, error_code

VISIBILITY_S = 120  # while a pass holds a message; released at the end of the pass
EMPTY_RECEIVES_TO_STOP = 2  # SQS may answer empty while messages exist
MAX_ATTEMPTS = 3


@dataclass
class Summary:
    """What the pass did, by reason; ``left`` lists each message left and why."""

    republished: Counter[str] = field(default_factory=Counter)  # by DLQ reason
    failed: Counter[str] = field(default_factory=Counter)  # by error code
    left: Counter[str] = field(default_factory=Counter)  # by why it was left
    notes: list[str] = field(default_factory=list)
    rebuilt: int = 0
    seen: int = 0


@dataclass
class _Held:
    """A received message and its receipt handle, kept until it is deleted or released."""

    message_id: str
    receipt: str
    reason: str = ""


class Queue:
    """The DLQ: receive, delete, and release (visibility 0) what we do not delete."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs = sqs
        self.url = url
        self.held: dict[str, _Held] = {}

    def depth(self) -> int:
        """Messages visible now; a queue that does not exist is an error here, before any work."""
        return visible_messages(self.sqs, self.url)

    def receive(self, count: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, count)),
            VisibilityTimeout=VISIBILITY_S,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def hold(self, message: dict[str, Any]) -> None:
        self.held[message["MessageId"]] = _Held(message["MessageId"], message["ReceiptHandle"])

    def delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        for message in messages:
            self.held.pop(message["MessageId"], None)

    def release(self, receipts: list[str] | None = None) -> None:
        """Visible again at once: the given receipts, or every message still held."""
        if receipts is None:
            receipts = [h.receipt for h in self.held.values()]
            self.held.clear()
        for start in range(0, len(receipts), 10):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                    for i, r in enumerate(receipts[start : start + 10])
                ],
            )

    @contextmanager
    def pass_(self) -> Iterator[Queue]:
        try:
            yield self
        finally:
            if self.held:
                self.release()


@dataclass
class _Ready:
    """A message whose event can be sent again."""

    message: dict[str, Any]
    body: dict[str, Any]
    entry: pipeline.Entry
    bus: str


class Redrive:
    """One pass over a dead-letter queue."""

    def __init__(
        self,
        aws: Aws,
        queue_url: str,
        event_bus: str | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        from_table: bool = False,
        reasons: set[str] | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        self.aws = aws
        self.queue = Queue(aws.client("sqs", region_of_queue(queue_url)), queue_url)
        self.event_bus = event_bus
        self.dry_run = dry_run
        self.limit = limit
        self.from_table = from_table
        self.reasons = reasons or set()
        self.report = report
        self.summary = Summary()
        self._buses_checked: set[str] = set()
        self._index = 0

    def run(self) -> Summary:
        self.queue.depth()  # a queue that does not exist fails here, before anything moves
        if self.event_bus:
            self._check_bus(self.event_bus)
        with self.queue.pass_():
            empty = 0
            while empty < EMPTY_RECEIVES_TO_STOP:
                room = 10 if self.limit is None else self.limit - self.summary.seen
                if room <= 0:
                    break
                fresh: list[dict[str, Any]] = []
                again: list[dict[str, Any]] = []
                for message in self.queue.receive(room):
                    seen = message["MessageId"] in self.queue.held
                    (again if seen else fresh).append(message)
                self.queue.release([m["ReceiptHandle"] for m in again])  # seen this pass
                empty = 0 if fresh else empty + 1
                ready = [r for m in fresh if (r := self._triage(m)) is not None]
                if ready:
                    self._republish(ready)
        return self.summary

    def _leave(self, message: dict[str, Any], why: str, detail: str) -> None:
        self.queue.hold(message)
        self.summary.left[why] += 1
        self.summary.notes.append(f"left {message['MessageId']}: {why}: {detail}")

    def _triage(self, message: dict[str, Any]) -> _Ready | None:  # noqa: PLR0911
        """Decide what to do with one message; None when it stays in the queue."""
        self.summary.seen += 1
        try:
            body = json.loads(message.get("Body", ""))
        except ValueError:
            self._leave(message, "not JSON", repr(message.get("Body", ""))[:80])
            return None
        if not isinstance(body, dict) or "reason" not in body or "record" not in body:
            self._leave(message, "not a fan-out message", repr(message.get("Body", ""))[:80])
            return None
        reason = str(body["reason"])
        keys = _keys(body)
        if self.reasons and reason not in self.reasons:
            self._leave(message, f"{reason} (not selected by --reason)", keys)
            return None
        event = body.get("event")
        if isinstance(event, dict) and not body.get("truncated") and _complete(event):
            bus = self.event_bus or str(event.get("EventBusName") or "default")
            entry = pipeline.stored_entry(self._next_index(), body.get("record"), event)
            return self._ready(message, body, entry, bus)
        if reason == pipeline.MALFORMED:
            self._leave(message, reason, f"{keys}: {str(body.get('message', ''))[:120]}")
            return None
        if not self.from_table:
            self._leave(message, f"{reason}, no event (truncated)", f"{keys}: use --from-table")
            return None
        return self._rebuild(message, body, reason, keys)

    def _ready(
        self, message: dict[str, Any], body: dict[str, Any], entry: pipeline.Entry, bus: str
    ) -> _Ready | None:
        if self.dry_run:
            self.queue.hold(message)
            self.summary.republished[str(body["reason"])] += 1
            return None
        return _Ready(message, body, entry, bus)

    def _rebuild(
        self, message: dict[str, Any], body: dict[str, Any], reason: str, keys: str
    ) -> _Ready | None:
        """A truncated message: the event again from the item as the table holds it now."""
        record = body["record"]
        ddb = record.get("dynamodb") if isinstance(record, dict) else None
        arn = record.get("eventSourceARN", "") if isinstance(record, dict) else ""
        table = arn.split(":table/")[-1].split("/")[0] if ":table/" in arn else ""
        if not isinstance(ddb, dict) or not ddb.get("Keys") or not table:
            self._leave(message, f"{reason}, no keys", keys)
            return None
        if record.get("eventName") == "REMOVE":
            self._leave(message, f"{reason}, REMOVE", f"{keys}: the old image is gone")
            return None
        dynamodb = self.aws.client("dynamodb", region_of_arn(arn))
        item = dynamodb.get_item(TableName=table, Key=ddb["Keys"], ConsistentRead=True).get("Item")
        if item is None:
            self._leave(message, f"{reason}, item gone", f"{keys} no longer in {table}")
            return None
        raw = {**record, "dynamodb": {**ddb, "NewImage": item}}
        raw["dynamodb"].pop("OldImage", None)
        if "ApproximateCreationDateTime" not in raw["dynamodb"]:
            raw["dynamodb"]["ApproximateCreationDateTime"] = datetime.now(UTC)
        bus = self.event_bus or "default"  # main() requires --event-bus with --from-table
        settings = pipeline.make_settings(bus)
        try:
            entry = pipeline.convert_record(self._next_index(), raw, settings)
        except pipeline.MalformedRecord as exc:
            self._leave(message, f"{reason}, cannot rebuild", f"{keys}: {exc}")
            return None
        self.summary.rebuilt += 1
        return self._ready(message, body, entry, bus)

    def _next_index(self) -> int:
        self._index += 1
        return self._index

    def _check_bus(self, bus: str) -> None:
        """An unknown bus is an operator's problem to fix first, not a failure per message."""
        if bus in self._buses_checked:
            return
        events = self.aws.client("events", region_of_arn(bus))
        try:
            events.describe_event_bus(Name=bus)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise CliError(
                    f"event bus {bus!r} does not exist in {events.meta.region_name}: create it "
                    "again (terraform apply) or pass --event-bus; nothing was re-published"
                ) from None
            raise
        self._buses_checked.add(bus)

    def _republish(self, ready: list[_Ready]) -> None:
        by_bus: dict[str, list[_Ready]] = {}
        for item in ready:
            by_bus.setdefault(item.bus, []).append(item)
        for bus, items in by_bus.items():
            for item in items:
                self.queue.hold(item.message)
            self._check_bus(bus)
            client = pipeline.events_client(self.aws, region_of_arn(bus), 4)
            entries = {item.entry.record.index: item for item in items}
            result = pipeline.publish(
                client, bus, (i.entry for i in items), MAX_ATTEMPTS, concurrency=4
            )
            done = [entries[i] for i in result.published]
            self.queue.delete([item.message for item in done])
            for item in done:
                self.summary.republished[str(item.body["reason"])] += 1
            for index, (_, code, message, _) in result.failed.items():
                self.summary.failed[code] += 1
                item = entries[index]
                self.summary.notes.append(
                    f"failed again {item.message['MessageId']}: {code}: {message[:160]}"
                )
            for entry in result.too_large:
                item = entries[entry.record.index]
                self.summary.left[pipeline.TOO_LARGE] += 1
                self.summary.notes.append(
                    f"left {item.message['MessageId']}: {pipeline.TOO_LARGE}: "
                    f"{entry.size} bytes is over the PutEvents limit"
                )
            # What was not deleted stays held, and is released when the pass ends.


def _complete(event: dict[str, Any]) -> bool:
    return all(isinstance(event.get(k), str) for k in ("Source", "DetailType", "Detail"))


def _keys(body: dict[str, Any]) -> str:
    record = body.get("record")
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    keys = ddb.get("Keys") if isinstance(ddb, dict) else None
    if keys is None and isinstance(record, dict):
        keys = {"eventID": record.get("eventID")}
    return json.dumps(keys, separators=(",", ":"), default=str)[:200]


def print_summary(summary: Summary, dry_run: bool, out: Callable[[str], None] = print) -> None:
    verb = "would re-publish" if dry_run else "re-published"
    total = sum(summary.republished.values())
    by_reason = ", ".join(f"{r} {n}" for r, n in sorted(summary.republished.items()))
    out(f"{verb} {total}" + (f" ({by_reason})" if by_reason else ""))
    if summary.rebuilt:
        out(f"  of which rebuilt from the table: {summary.rebuilt}")
    failed = sum(summary.failed.values())
    by_code = ", ".join(f"{c} {n}" for c, n in sorted(summary.failed.items()))
    out(f"failed again {failed}" + (f" ({by_code}); left in the queue" if by_code else ""))
    left = sum(summary.left.values())
    out(f"left in the queue {left}")
    for why, count in sorted(summary.left.items()):
        out(f"  {why}: {count}")
    for note in summary.notes:
        out(f"  {note}")
