"""`redrive`: re-publish the events parked in the fan-out's dead-letter queue.

One pass over the queue; each message is judged on its own, and deleted only
after PutEvents accepted its event (or its claim-check pointer). For each
rung of the handler's DLQ ladder:

- record + event: the stored event is checked field by field and sent again
  as it was; a pointer event only once its S3 object is there (else it is
  rebuilt from the record, or left);
- record only (the event was dropped for size): the event is rebuilt from
  the complete record with the function's settings: same eventID, images
  and changedAttributes;
- keys + metadata, ids: left, unless ``--from-table`` is given; then the
  table's current item is published as a ``CURRENT_ITEM`` event with a new
  eventID and ``redriveOf`` naming the parked change, never under its identity.

An event at or above the function's size cap is claim-checked (with a bucket)
or left with a note, never published whole. Whatever is left is released at
the end of the pass (also on an error or Ctrl-C), with a note saying why.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynamodb_fanout import pipeline
from dynamodb_fanout.arguments import EXIT_STATUS, positive
from dynamodb_fanout.aws import Aws, queue_url, region_of_arn, region_of_queue
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, describe, error_code
from dynamodb_fanout.function_settings import Resolved, add_options, defaults, resolve
from dynamodb_fanout.queue import Queue

CURRENT_ITEM = "CURRENT_ITEM"  # detail-type of an event rebuilt from the table (--from-table)
NOT_SELECTED = "not selected by --reason"
_MISSING_OBJECT = ("NoSuchKey", "404", "NotFound")


@dataclass
class Summary:
    """What the pass did, by reason; ``notes`` says for each message left why."""

    republished: Counter[str] = field(default_factory=Counter)  # by DLQ reason
    how: Counter[str] = field(default_factory=Counter)  # rebuilt, claim-checked, from the table
    failed: Counter[str] = field(default_factory=Counter)  # by error code
    left: Counter[str] = field(default_factory=Counter)  # by why it was left
    delete_failed: int = 0
    release_failed: int = 0
    not_selected: int = 0
    notes: list[str] = field(default_factory=list)
    seen: int = 0
    settings: str = ""

    @property
    def complete(self) -> bool:
        """Nothing failed, nothing left (other than not selected), every delete confirmed."""
        return not (self.failed or self.left or self.delete_failed or self.release_failed)


@dataclass
class _Ready:
    """A message whose event can be sent, and how it was made."""

    message: dict[str, Any]
    reason: str
    entry: pipeline.Entry
    bus: str
    how: str = ""  # "" as stored; "rebuilt from the record"; "current item from the table"


class _Left(Exception):
    """A message stays in the queue: why (counted) and what to tell the operator."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.detail = detail


class Redrive:
    """One pass over a dead-letter queue."""

    def __init__(
        self,
        aws: Aws,
        queue_url: str,
        resolved: Resolved | None = None,
        event_bus: str | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        from_table: bool = False,
        reasons: set[str] | None = None,
        sizes_known: bool = True,
    ) -> None:
        self.aws = aws
        self.queue = Queue(aws.client("sqs", region_of_queue(queue_url)), queue_url)
        self.resolved = resolved = resolved or defaults()
        self.settings = resolved.settings
        self.event_bus = event_bus  # --event-bus: overrides each event's own bus
        self.dry_run = dry_run
        self.limit = limit
        self.from_table = from_table
        self.reasons = reasons or set()
        self.sizes_known = sizes_known  # the function's cap is known (--function or options)
        self.summary = Summary(settings=resolved.describe())
        self.claim_check = pipeline.claim_check_for(aws, self.settings)
        self._buses: dict[str, str] = {}  # bus -> "" if it exists, else why it cannot be used
        self._index = 0
        self._run_id = uuid.uuid4().hex[:12]

    def run(self) -> Summary:
        self.queue.depth()  # a queue that does not exist fails here, before anything moves
        if self.event_bus and (problem := self._bus_problem(self.event_bus)):
            raise CliError(f"{problem}; nothing was re-published")
        try:
            with self.queue.pass_():
                self._pass()
        finally:
            self.summary.delete_failed = self.queue.counts.delete_failed
            self.summary.release_failed = self.queue.counts.release_failed
            self.summary.notes += self.queue.counts.errors
        return self.summary

    def _pass(self) -> None:
        while self.limit is None or self.summary.seen < self.limit:
            room = 10 if self.limit is None else self.limit - self.summary.seen
            messages = self.queue.receive(room)
            if messages is None:
                return
            ready = []
            for message in messages:
                self.summary.seen += 1
                try:
                    ready.append(self._judge(message))
                except _Left as left:
                    self._leave(message, left.why, left.detail)
                except Exception as exc:  # one message's trouble stays its own
                    self._leave(message, "could not be judged", _why(exc))
            self._republish(ready)

    def _leave(self, message: dict[str, Any], why: str, detail: str) -> None:
        if why == NOT_SELECTED:
            self.summary.not_selected += 1
            return
        self.summary.left[why] += 1
        self.summary.notes.append(
            f"left {message['MessageId']}: {why}" + (f": {detail}" if detail else "")
        )

    def _judge(self, message: dict[str, Any]) -> _Ready:
        """What to send for one message; raises _Left when it stays in the queue."""
        text = message.get("Body", "")
        try:
            body = json.loads(text)
        except ValueError:
            raise _Left("not JSON", repr(text)[:80]) from None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("reason"), str)
            or "record" not in body
        ):
            raise _Left("not a fan-out message", repr(text)[:80])
        reason, record = body["reason"], body["record"]
        if self.reasons and reason not in self.reasons:
            raise _Left(NOT_SELECTED)
        keys = _keys(record)
        event = body.get("event")
        complete = pipeline.record_complete(record)
        if event is not None and not body.get("truncated"):
            try:
                entry = pipeline.stored_entry(self._next_index(), record, event)
            except pipeline.BadEvent as exc:
                raise _Left("wrong-shaped event", f"{keys}: {exc}") from None
            bus = self._bus_for(event, keys)
            pointer = pipeline.is_pointer_entry(entry)
            if pointer is None:
                return self._sized(message, reason, entry, bus, "", keys)
            problem = self._object_problem(pointer)
            if not problem:
                return _Ready(message, reason, entry, bus, "pointer, its object checked")
            if not complete:
                raise _Left(
                    "pointer's object is gone", f"{keys}: {problem}; the record is incomplete"
                )
            return self._from_record(message, reason, record, bus, keys, large=True)
        if complete:
            return self._from_record(message, reason, record, self._bus_for(event, keys), keys)
        if reason == pipeline.MALFORMED:
            raise _Left(reason, f"{keys}: {str(body.get('message', ''))[:120]}")
        if not self.from_table:
            raise _Left(f"{reason}, record incomplete", f"{keys}: see --from-table")
        return self._current_item(message, reason, record, keys)

    def _bus_for(self, event: Any, keys: str) -> str:
        own = event.get("EventBusName") if isinstance(event, dict) else None
        bus = self.event_bus or (own if isinstance(own, str) and own else None) or self.resolved.bus
        if not bus:
            raise _Left("no event bus known", f"{keys}: pass --event-bus or --function")
        return bus

    def _from_record(
        self,
        message: dict[str, Any],
        reason: str,
        record: Any,
        bus: str,
        keys: str,
        large: bool = False,
    ) -> _Ready:
        """The event again from the complete record, as the function converts it.

        ``large``: the function claim-checked this change once, so it is over its cap.
        """
        try:
            entry = pipeline.convert_record(self._next_index(), record, self.settings)
        except Exception as exc:
            raise _Left(f"{reason}, cannot rebuild", f"{keys}: {_why(exc)}") from None
        how = "rebuilt from the record"
        return self._sized(message, reason, entry, bus, how, keys, large)

    def _sized(
        self,
        message: dict[str, Any],
        reason: str,
        entry: pipeline.Entry,
        bus: str,
        how: str,
        keys: str,
        large: bool = False,
    ) -> _Ready:
        """An event the function once found too large is sent only under its known cap."""
        if (large or reason == pipeline.TOO_LARGE) and not self.sizes_known:
            raise _Left(
                "too large for the function once; its size cap is unknown",
                f"{keys}: {entry.size} bytes; pass --function (or --max-event-size, "
                "--large-event-bucket) so it is sent as the function would",
            )
        return _Ready(message, reason, entry, bus, how)

    def _object_problem(self, pointer: dict[str, Any]) -> str:
        """'' when the pointer's S3 object is there; else why not."""
        bucket, key = pointer.get("bucket"), pointer.get("key")
        if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
            return "malformed claim-check pointer"
        try:
            self.aws.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            code = error_code(exc)
            if code in _MISSING_OBJECT:
                return f"s3://{bucket}/{key} does not exist"
            return f"cannot check s3://{bucket}/{key}: {_why(exc)}"
        return ""

    def _current_item(self, message: dict[str, Any], reason: str, record: Any, keys: str) -> _Ready:
        """A record without its images: the item as the table holds it now, clearly marked."""
        try:
            parked = pipeline.decode(0, record)
        except pipeline.MalformedRecord:
            raise _Left(f"{reason}, no keys", keys) from None
        if parked.event_name == "REMOVE":
            raise _Left(
                f"{reason}, REMOVE without its old image", f"{keys}: the table cannot supply it"
            )
        bus = self._bus_for(None, keys)
        dynamodb = self.aws.client("dynamodb", region_of_arn(parked.table_arn))
        ddb_keys = record["dynamodb"]["Keys"]
        try:
            item = dynamodb.get_item(
                TableName=parked.table_name, Key=ddb_keys, ConsistentRead=True
            ).get("Item")
        except Exception as exc:
            raise _Left(f"{reason}, GetItem failed", f"{keys}: {_why(exc)}") from None
        if item is None:
            raise _Left(f"{reason}, item gone", f"{keys} no longer in {parked.table_name}")
        event_id = f"redrive-{self._run_id}-{pipeline.key_digest(ddb_keys)}"
        region = parked.table_arn.split(":")[3]
        raw = pipeline.insert_record(
            item, ddb_keys, parked.table_arn, region, event_id, datetime.now(UTC)
        )
        entry = pipeline.convert_record(self._next_index(), raw, self.settings)
        origin = {
            "eventID": parked.event_id,
            "eventName": parked.event_name,
            "sequenceNumber": parked.sequence_number,
            "reason": reason,
        }
        entry = pipeline.with_detail(entry, CURRENT_ITEM, redriveOf=origin)
        return self._sized(message, reason, entry, bus, "current item from the table", keys)

    def _next_index(self) -> int:
        self._index += 1
        return self._index

    def _bus_problem(self, bus: str) -> str:
        """'' for a bus that exists; else why it cannot be used (asked once per bus)."""
        if bus not in self._buses:
            events = self.aws.client("events", region_of_arn(bus))
            try:
                events.describe_event_bus(Name=bus)
                self._buses[bus] = ""
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    self._buses[bus] = (
                        f"event bus {bus!r} does not exist in {events.meta.region_name}: create "
                        "it again (terraform apply) or pass --event-bus"
                    )
                else:
                    self._buses[bus] = f"event bus {bus!r}: {_why(exc)}"
        return self._buses[bus]

    def _republish(self, ready: list[_Ready]) -> None:
        by_bus: dict[str, list[_Ready]] = {}
        for item in ready:
            by_bus.setdefault(item.bus, []).append(item)
        for bus, items in by_bus.items():
            problem = self._bus_problem(bus)
            if problem:
                for item in items:
                    self._leave(item.message, "event bus missing", problem)
                continue
            if self.dry_run:
                self._would(items)
                continue
            try:
                self._send(bus, items)
            except Exception as exc:  # e.g. a client that cannot be made: these stay
                for item in items:
                    self._leave(item.message, "could not be sent", _why(exc))

    def _would(self, items: list[_Ready]) -> None:
        cap = self.settings.event_size_limit
        for item in items:
            if item.entry.size >= cap and self.claim_check is None:
                self._leave(
                    item.message, pipeline.TOO_LARGE, f"{item.entry.size} bytes; {cap} is the cap"
                )
                continue
            self.summary.republished[item.reason] += 1
            how = "claim-checked" if item.entry.size >= cap else item.how
            if how:
                self.summary.how[how] += 1

    def _send(self, bus: str, items: list[_Ready]) -> None:
        client = pipeline.events_client(self.aws, region_of_arn(bus), 4)
        by_index = {item.entry.record.index: item for item in items}
        sent = pipeline.send(client, bus, self.settings, (i.entry for i in items), self.claim_check)
        done = [by_index[i] for i in sorted(sent.published)]
        not_deleted = {m["MessageId"] for m, _ in self.queue.delete([i.message for i in done])}
        for index in sorted(sent.published):
            item = by_index[index]
            if item.message["MessageId"] in not_deleted:
                continue  # published, but still in the queue: counted as a delete failure
            self.summary.republished[item.reason] += 1
            how = "claim-checked" if index in sent.claim_checked else item.how
            if how:
                self.summary.how[how] += 1
        for index, (_, code, message, _) in sorted(sent.failed.items()):
            self.summary.failed[code] += 1
            item = by_index[index]
            self.summary.notes.append(
                f"failed again {item.message['MessageId']}: {code}: {message[:160]}"
            )
        for index, letter in sorted(sent.too_large.items()):
            self._leave(by_index[index].message, pipeline.TOO_LARGE, letter.message[:240])


def _why(exc: BaseException) -> str:
    return describe(exc) or f"{type(exc).__name__}: {exc}"[:240]


def _keys(record: Any) -> str:
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    keys = ddb.get("Keys") if isinstance(ddb, dict) else None
    if keys is None and isinstance(record, dict):
        keys = {"eventID": record.get("eventID")}
    return json.dumps(keys, separators=(",", ":"), default=str)[:200]


def print_summary(summary: Summary, dry_run: bool, out: Callable[[str], None] = print) -> None:
    out(summary.settings)
    verb = "would re-publish" if dry_run else "re-published"
    total = sum(summary.republished.values())
    by_reason = ", ".join(f"{r} {n}" for r, n in sorted(summary.republished.items()))
    out(f"{verb} {total}" + (f" ({by_reason})" if by_reason else ""))
    for how, count in sorted(summary.how.items()):
        out(f"  {how}: {count}")
    failed = sum(summary.failed.values())
    by_code = ", ".join(f"{c} {n}" for c, n in sorted(summary.failed.items()))
    out(f"failed again {failed}" + (f" ({by_code}); left in the queue" if by_code else ""))
    left = sum(summary.left.values())
    out(f"left in the queue {left}")
    for why, count in sorted(summary.left.items()):
        out(f"  {why}: {count}")
    if summary.not_selected:
        out(f"{NOT_SELECTED}: {summary.not_selected} (untouched)")
    if summary.delete_failed or summary.release_failed:
        out(
            f"not deleted after publishing {summary.delete_failed} (they will be seen again); "
            f"not released {summary.release_failed} (visible again when their hold ends)"
        )
    for note in summary.notes:
        out(f"  {note}")


HELP = "Re-publish the events parked in the fan-out's dead-letter queue."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("redrive", help=HELP, description=HELP, epilog=EXIT_STATUS)
    common(p)
    p.add_argument("--queue-url", required=True, help="the DLQ (the module's dlq_url output)")
    p.add_argument("--dry-run", action="store_true", help="judge and list; publish nothing")
    p.add_argument("--limit", type=positive, help="look at no more than N messages")
    p.add_argument(
        "--reason", action="append", help="only messages parked for this reason (repeatable)"
    )
    p.add_argument(
        "--from-table",
        action="store_true",
        help="for messages without the complete record: publish the table's current item "
        f"as a {CURRENT_ITEM} event (new eventID, detail.redriveOf names the parked change)",
    )
    add_options(
        p,
        "publish here instead of each event's own bus (default: the event's, else the function's)",
    )
    p.set_defaults(run=run)


def run(aws: Aws, args: argparse.Namespace) -> int:
    url = queue_url(args.queue_url)
    resolved = resolve(aws, args, need_bus=False)
    sizes_known = bool(
        args.function or args.max_event_size or args.max_event_bytes or args.large_event_bucket
    )
    summary = Redrive(
        aws,
        url,
        resolved,
        args.event_bus,
        dry_run=args.dry_run,
        limit=args.limit,
        from_table=args.from_table,
        reasons=set(args.reason or ()),
        sizes_known=sizes_known,
    ).run()
    print_summary(summary, args.dry_run)
    return EXIT_OK if summary.complete else EXIT_INCOMPLETE
