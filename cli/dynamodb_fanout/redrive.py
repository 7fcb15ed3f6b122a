"""`redrive`: re-publish what the function parked in its dead-letter queue, as it would publish it.

One pass over the queue. A message is an input, not an authority: whoever
can send to the queue writes what it says. So each message is judged on its
own, and only a record of the function's own stream (``provenance``) is
re-published, always rebuilt from that record with the function's conversion
and settings, to the function's bus (or ``--event-bus``): never the event,
source or bus the message names. The stored event only confirms: when the
settings are the function's (``--function``, or ``--source`` and
``--detail-format``), the rebuilt event is sent and a stored event that
differs is noted; without them, the rebuilt event is sent only if it is
identical to the stored one, else the message is left.

- a complete record (every image its StreamViewType promises): rebuilt. A
  change the function claim-checked is claim-checked again through the
  engine (a fresh object), never re-published as the old pointer;
- keys + metadata, or ids: left, unless ``--from-table``: then the function's
  table's current item is published as a ``CURRENT_ITEM`` event with a new
  eventID and ``redriveOf`` naming the parked change, never under its identity.

The pass reads every message first, then publishes the rebuilt events in
stream order (sequence number, per table) through the handler's engine, so
on an event-busv2 bus each item's changes arrive in order and a repeat keeps
its DeduplicationId (the eventID). A message is deleted only after its event
was published; everything else is released at the end of the pass (also on
an error or Ctrl-C), with a line saying why.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dynamodb_fanout.arguments import EXIT_STATUS, HelpFormatter, positive
from dynamodb_fanout.aws import Aws, queue_url, region_of_queue, require_bus, runtime_for
from dynamodb_fanout.backfill import (
    DETAIL_TYPE,
    MAX_DETAIL_TYPE_CHARS,
    insert_record,
    is_backfill_record,
    key_digest,
    with_detail,
)
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, describe
from dynamodb_fanout.function_settings import Resolved, add_options, resolve
from dynamodb_fanout.progress import Progress
from dynamodb_fanout.provenance import Scope, StreamRef, add_scope_option, resolve_scope
from dynamodb_fanout.queue import PASS_HOLD_S, Queue
from dynamodb_fanout.report import Notes, add_output_options, emit
from fanout import (
    MALFORMED,
    TOO_LARGE,
    Entry,
    MalformedRecord,
    NotADeadLetter,
    ParkedMessage,
    Runtime,
    StreamRecord,
    convert,
    decode,
    is_pointer,
    iso_utc,
    read_message,
)

CURRENT_ITEM = "CURRENT_ITEM"  # detail-type of an event rebuilt from the table (--from-table)
NOT_SELECTED = "not selected by --reason"
REBUILT = "rebuilt from the record"
FROM_TABLE = "current item from the table"
HOW_BUILT = "pass --function, or --source and --detail-format as the function's"
# The images a record of each StreamViewType carries, by eventName (DynamoDB Streams API).
_IMAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "KEYS_ONLY": {"INSERT": (), "MODIFY": (), "REMOVE": ()},
    "NEW_IMAGE": {"INSERT": ("NewImage",), "MODIFY": ("NewImage",), "REMOVE": ()},
    "OLD_IMAGE": {"INSERT": (), "MODIFY": ("OldImage",), "REMOVE": ("OldImage",)},
    "NEW_AND_OLD_IMAGES": {
        "INSERT": ("NewImage",),
        "MODIFY": ("NewImage", "OldImage"),
        "REMOVE": ("OldImage",),
    },
}
# What a pointer event's detail shares with the full event it stands for.
_IDENTITY = ("eventID", "eventName", "eventSourceARN", "sequenceNumber", "tableName")


@dataclass
class Summary:
    """What the pass did; ``notes`` says, grouped, what was left, failed again or noted."""

    republished: Counter[str] = field(default_factory=Counter)  # by DLQ reason
    how: Counter[str] = field(default_factory=Counter)  # rebuilt, claim-checked, from the table
    notes: Notes = field(default_factory=Notes)  # kinds: left, failed again, noted
    delete_failed: int = 0
    release_failed: int = 0
    not_selected: int = 0
    seen: int = 0

    @property
    def left(self) -> int:
        return self.notes.count("left")

    @property
    def failed(self) -> int:
        return self.notes.count("failed again")

    @property
    def complete(self) -> bool:
        """Nothing failed, nothing left (other than not selected), every delete confirmed."""
        return not (self.failed or self.left or self.delete_failed or self.release_failed)


@dataclass
class _Ready:
    """A message whose event was rebuilt and can be sent."""

    message: dict[str, Any]
    reason: str
    entry: Entry
    example: str  # the message id and the item's keys, for notes
    how: str = REBUILT
    differs: tuple[str, ...] = ()  # fields in which the stored event differed
    parked_bus: str | None = None

    @property
    def order(self) -> tuple[str, str, int]:
        """Stream order: per table, the stream's label, then the sequence number."""
        found = StreamRef.parse(self.entry.record.source_arn)
        sequence = self.entry.record.sequence_number
        number = int(sequence) if sequence.isdigit() else 0
        return (found.table_arn if found else "", (found.label or "") if found else "", number)


class _Left(Exception):
    """A message stays in the queue: why (grouped) and its specifics (the example)."""

    def __init__(self, why: str, example: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.example = example


def record_complete(raw: Any) -> bool:
    """Whether a parked record is the whole stream record: it has every image its
    StreamViewType promises for its eventName (a DLQ body cut to keys has none)."""
    ddb = raw.get("dynamodb") if isinstance(raw, dict) else None
    if not isinstance(ddb, dict):
        return False
    by_event = _IMAGES.get(str(ddb.get("StreamViewType")), {})
    wanted = by_event.get(str(raw.get("eventName")), ())  # unknown: nothing is promised
    return all(isinstance(ddb.get(name), Mapping) for name in wanted)


def _exact(text: Any) -> Any:
    """A Detail's JSON, numbers as exact Decimals (None if it is not JSON text)."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        return None


def stored_pointer(stored: Any) -> bool:
    """Whether a stored PutEvents entry is a claim-check pointer event."""
    detail = _exact(stored.get("Detail")) if isinstance(stored, dict) else None
    return is_pointer({"detail": detail})


def differences(stored: Any, entry: Entry) -> tuple[str, ...]:
    """The fields in which a stored event differs from the event rebuilt from its record.

    A stored pointer is compared by what a pointer shares with the full event:
    the envelope and the change's identity.
    """
    if not isinstance(stored, dict):
        return ("event",)
    out = []
    time = iso_utc(entry.time) if entry.time is not None else None
    for name, value in (
        ("Source", entry.source),
        ("DetailType", entry.detail_type),
        ("Resources", list(entry.resources)),
        ("Time", time),
    ):
        if stored.get(name) != value:
            out.append(name)
    detail, rebuilt = _exact(stored.get("Detail")), _exact(entry.detail)
    if stored_pointer(stored):
        same = all(detail.get(k) == rebuilt.get(k) for k in _IDENTITY)
    else:
        same = detail == rebuilt
    if not same:
        out.append("Detail")
    return tuple(out)


def _keys(record: Any) -> str:
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    keys = ddb.get("Keys") if isinstance(ddb, dict) else None
    if keys is None and isinstance(record, dict):
        keys = {"eventID": record.get("eventID")}
    return json.dumps(keys, separators=(",", ":"), default=str)[:200]


class Redrive:
    """One pass over a dead-letter queue."""

    def __init__(
        self,
        aws: Aws,
        url: str,
        resolved: Resolved,
        scope: Scope,
        dry_run: bool = False,
        limit: int | None = None,
        from_table: bool = False,
        reasons: set[str] | None = None,
        backfill_detail_type: str = DETAIL_TYPE,
        quiet: bool = False,
    ) -> None:
        self.aws = aws
        self.queue = Queue(aws.client("sqs", region_of_queue(url)), url, hold_s=PASS_HOLD_S)
        self.resolved = resolved
        self.settings = resolved.settings
        self.scope = scope
        self.bus = self.settings.event_bus_name
        self.dry_run = dry_run
        self.limit = limit
        self.from_table = from_table
        self.reasons = reasons or set()
        self.backfill_detail_type = backfill_detail_type
        self.quiet = quiet
        self.summary = Summary()
        self.bus_problem = ""
        self._run_id = uuid.uuid4().hex[:12]

    def run(self) -> Summary:
        depth = self.queue.depth()  # a queue that does not exist fails here, before anything
        try:
            require_bus(self.aws, self.settings)  # as does a bus that does not exist ...
        except CliError as exc:
            if not self.dry_run:
                raise
            self.bus_problem = str(exc)  # ... but a dry run still says what it would do
        owner = self.resolved.function.account if self.resolved.function else None
        runtime = runtime_for(self.aws, self.settings, owner)
        progress = Progress("redrive", depth or None, enabled=not self.quiet)
        progress.start()
        try:
            with self.queue.pass_():
                ready = self._read(progress)
                ready.sort(key=lambda item: item.order)
                if self.dry_run:
                    self._would(ready)
                else:
                    self._send(runtime, ready, progress)
        finally:
            progress.finish()
            counts = self.queue.counts
            self.summary.delete_failed = counts.delete_failed
            self.summary.release_failed = counts.release_failed
            for kind, why, message_id in counts.errors:
                self.summary.notes.add(kind, why, message_id)
        return self.summary

    # --- reading and judging ---------------------------------------------------------------

    def _read(self, progress: Progress) -> list[_Ready]:
        ready: list[_Ready] = []
        while self.limit is None or self.summary.seen < self.limit:
            room = 10 if self.limit is None else self.limit - self.summary.seen
            messages = self.queue.receive(room)
            if messages is None:
                break
            for message in messages:
                self.summary.seen += 1
                try:
                    ready.append(self._judge(message, self.summary.seen))
                except _Left as left:
                    self._leave(message, left.why, left.example)
                except Exception as exc:  # one message's trouble stays its own
                    self._leave(message, "could not be judged", _why(exc))
                progress.add(1)
        return ready

    def _leave(self, message: dict[str, Any], why: str, example: str = "") -> None:
        if why == NOT_SELECTED:
            self.summary.not_selected += 1
            return
        self.summary.notes.add("left", why, f"{message['MessageId']} {example}".strip())

    def _judge(self, message: dict[str, Any], index: int) -> _Ready:
        """The rebuilt event for one message; raises _Left when it stays in the queue."""
        try:
            parked = read_message(message.get("Body", ""))
        except NotADeadLetter as exc:
            why, _, sample = str(exc).partition(": ")
            raise _Left(why, sample) from None
        if self.reasons and parked.reason not in self.reasons:
            raise _Left(NOT_SELECTED)
        record, keys = parked.record, _keys(parked.record)
        problem = self.scope.record_problem(record)
        if problem is not None:
            raise _Left(problem, keys)
        if parked.reason == MALFORMED:
            raise _Left(MALFORMED, f"{keys}: {parked.message[:120]}")
        try:
            decoded = decode(index, record)
        except MalformedRecord as exc:
            raise _Left(f"{parked.reason}, record cannot be read", f"{keys}: {exc}") from None
        example = f"{message['MessageId']} {keys}"
        if not record_complete(record):
            if not self.from_table:
                raise _Left(f"{parked.reason}, record incomplete: see --from-table", keys)
            return self._current_item(message, parked, decoded, example)
        return self._rebuilt(message, parked, decoded, example)

    def _rebuilt(
        self, message: dict[str, Any], parked: ParkedMessage, record: StreamRecord, example: str
    ) -> _Ready:
        """The event from the complete record, as the function converts it."""
        keys = _keys(parked.record)
        try:
            entry = convert(record, self.settings)
        except Exception as exc:  # e.g. an image that is not DynamoDB JSON
            raise _Left(f"{parked.reason}, cannot rebuild", f"{keys}: {_why(exc)}") from None
        if is_backfill_record(parked.record):
            entry = with_detail(entry, self.backfill_detail_type)
        stored = parked.event
        large = parked.reason == TOO_LARGE or stored_pointer(stored)
        if large and not self.resolved.cap_known:
            raise _Left(
                "too large for the function once; its size cap is unknown: pass --function "
                "(or --max-event-size, --large-event-bucket) so it is sent as the function would",
                f"{keys} {entry.size} bytes",
            )
        differs = differences(stored, entry) if stored is not None else ()
        if not self.resolved.known:
            if stored is None:
                raise _Left(
                    f"record only: how the function builds its events is unknown: {HOW_BUILT}",
                    keys,
                )
            if differs:
                raise _Left(
                    f"the stored event differs from the one rebuilt with these settings in "
                    f"{', '.join(differs)}: {HOW_BUILT}",
                    keys,
                )
        parked_bus = stored.get("EventBusName") if isinstance(stored, dict) else None
        return _Ready(
            message,
            parked.reason,
            entry,
            example,
            differs=differs,
            parked_bus=parked_bus if isinstance(parked_bus, str) else None,
        )

    def _current_item(
        self, message: dict[str, Any], parked: ParkedMessage, record: StreamRecord, example: str
    ) -> _Ready:
        """A record without its images: the item as the function's table holds it now."""
        keys = _keys(parked.record)
        reason = parked.reason
        if not self.resolved.known:
            raise _Left(f"{reason}, record incomplete: {HOW_BUILT} for --from-table", keys)
        if record.event_name == "REMOVE":
            raise _Left(f"{reason}, REMOVE without its old image: the table cannot supply it", keys)
        if reason == TOO_LARGE and not self.resolved.cap_known:
            raise _Left(
                f"{reason}: the function's size cap is unknown: pass --function (or "
                "--max-event-size, --large-event-bucket)",
                keys,
            )
        table = StreamRef.parse(record.source_arn)
        assert table is not None and table.table_arn in self.scope.tables  # checked before
        dynamodb = self.aws.client("dynamodb", table.region)
        ddb_keys = record.raw["dynamodb"]["Keys"]
        try:
            item = dynamodb.get_item(  # by ARN: that account's table, not one of its name
                TableName=table.table_arn, Key=ddb_keys, ConsistentRead=True
            ).get("Item")
        except Exception as exc:
            raise _Left(f"{reason}, GetItem failed", f"{keys}: {_why(exc)}") from None
        if item is None:
            raise _Left(f"{reason}, item no longer in {table.table_name}", keys)
        event_id = f"redrive-{self._run_id}-{key_digest(ddb_keys)}"
        raw = insert_record(
            item, ddb_keys, table.table_arn, table.region, event_id, datetime.now(UTC)
        )
        entry = convert(decode(record.index, raw), self.settings)
        origin = {
            "eventID": record.event_id,
            "eventName": record.event_name,
            "sequenceNumber": record.sequence_number,
            "reason": reason,
        }
        entry = with_detail(entry, CURRENT_ITEM, redriveOf=origin)
        return _Ready(message, reason, entry, example, how=FROM_TABLE)

    # --- publishing ------------------------------------------------------------------------

    def _would(self, items: list[_Ready]) -> None:
        cap = self.settings.event_size_limit
        for item in items:
            if self.bus_problem:
                self.summary.notes.add("left", self.bus_problem, item.example)
                continue
            if item.entry.size >= cap and not self.settings.large_event_bucket:
                self.summary.notes.add(
                    "left",
                    f"{TOO_LARGE}: {cap} bytes is the cap, and no claim-check bucket",
                    f"{item.example} {item.entry.size} bytes",
                )
                continue
            self._count(item, claim_checked=item.entry.size >= cap)

    def _count(self, item: _Ready, claim_checked: bool) -> None:
        self.summary.republished[item.reason] += 1
        self.summary.how[item.how] += 1
        if claim_checked:
            self.summary.how["claim-checked"] += 1
        if item.differs:
            self.summary.notes.add(
                "noted",
                f"the stored event differed in {', '.join(item.differs)}; the event rebuilt "
                "from the record was sent",
                item.example,
            )
        if item.parked_bus is not None and item.parked_bus != self.bus:
            self.summary.notes.add(
                "noted", f"parked for bus {item.parked_bus[:160]}; sent to {self.bus}", item.example
            )

    def _send(self, runtime: Runtime, items: list[_Ready], progress: Progress) -> None:
        by_index = {item.entry.record.index: item for item in items}
        outcome = runtime.publish(_counting((i.entry for i in items), progress))
        claim_checked = set(outcome.claim_checked)
        published = [by_index[i] for i in sorted(outcome.published)]
        not_deleted = {m["MessageId"] for m, _ in self.queue.delete([i.message for i in published])}
        for item in published:
            if item.message["MessageId"] not in not_deleted:  # else: counted as not deleted
                self._count(item, item.entry.record.index in claim_checked)
        for letter in sorted(outcome.letters, key=lambda x: x.index):
            item = by_index[letter.index]
            if letter.reason == TOO_LARGE:
                self.summary.notes.add("left", TOO_LARGE, f"{item.example}: {letter.message}")
            else:
                self.summary.notes.add("failed again", letter.message[:200], item.example)
        for left in sorted(outcome.left, key=lambda x: x.envelope.index):
            item = by_index[left.envelope.index]
            why = left.why if left.attempts else _unsent(left.why, self.settings.ordered)
            self.summary.notes.add("failed again", why[:200], item.example)


def _unsent(why: str, ordered: bool) -> str:
    if ordered and why == "not sent":
        return "not sent: held back behind an earlier change of its item that was not published"
    return why


def _counting(entries: Iterable[Entry], progress: Progress) -> Iterator[Entry]:
    """The entries as the engine takes them, counted as sent in the progress line."""
    for entry in entries:
        progress.add(0, sent=1)
        yield entry


def _why(exc: BaseException) -> str:
    return describe(exc) or f"{type(exc).__name__}: {exc}"[:240]


def summary_lines(summary: Summary, header: list[str], dry_run: bool) -> list[str]:
    lines = list(header)
    verb = "would re-publish" if dry_run else "re-published"
    total = sum(summary.republished.values())
    by_reason = ", ".join(f"{r} {n}" for r, n in sorted(summary.republished.items()))
    lines.append(f"{verb} {total}" + (f" ({by_reason})" if by_reason else ""))
    lines += [f"  {how}: {count}" for how, count in sorted(summary.how.items())]
    lines.append(
        f"failed again {summary.failed}" + ("; left in the queue" if summary.failed else "")
    )
    lines.append(f"left in the queue {summary.left + summary.failed}")
    lines += [f"  {line}" for line in summary.notes.lines(("left", "failed again"))]
    if summary.not_selected:
        lines.append(f"{NOT_SELECTED}: {summary.not_selected} (untouched)")
    if summary.delete_failed or summary.release_failed:
        lines.append(
            f"not deleted after publishing {summary.delete_failed} (they will be seen again); "
            f"not released {summary.release_failed} (visible again when their hold ends)"
        )
    lines += [f"  {line}" for line in summary.notes.lines(("noted", "not deleted", "not released"))]
    return lines


def summary_document(summary: Summary, header: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    return {
        "command": "redrive",
        **header,
        "dry_run": dry_run,
        "seen": summary.seen,
        "republished": {
            "total": sum(summary.republished.values()),
            "by_reason": dict(sorted(summary.republished.items())),
            "how": dict(sorted(summary.how.items())),
        },
        "failed_again": summary.failed,
        "left": summary.left,
        "not_selected": summary.not_selected,
        "not_deleted": summary.delete_failed,
        "not_released": summary.release_failed,
        "notes": summary.notes.as_json(),
        "exit_status": EXIT_OK if summary.complete else EXIT_INCOMPLETE,
    }


HELP = "Re-publish the events parked in the fan-out's dead-letter queue."
EXAMPLES = """examples:
  dynamodb-fanout redrive --queue-url "$DLQ_URL" --function orders-fanout --dry-run
  dynamodb-fanout redrive --queue-url "$DLQ_URL" --function orders-fanout
  dynamodb-fanout redrive --queue-url "$DLQ_URL" --function orders-fanout --from-table --json
  dynamodb-fanout redrive --queue-url "$DLQ_URL" --stream-arn "$STREAM_ARN" \\
      --event-bus orders-bus --source dynamodb.Orders --detail-format plain"""


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "redrive",
        help=HELP,
        description=HELP,
        epilog=f"{EXAMPLES}\n\n{EXIT_STATUS}",
        formatter_class=HelpFormatter,
    )
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
        help="for messages without the complete record: publish the function's table's current "
        f"item as a {CURRENT_ITEM} event (new eventID, detail.redriveOf names the parked change)",
    )
    p.add_argument(
        "--backfill-detail-type",
        default=DETAIL_TYPE,
        help="detail-type of the changes backfill parked (as its --detail-type; default "
        f"{DETAIL_TYPE})",
    )
    add_output_options(p)
    add_scope_option(p)
    add_options(p, "publish here instead of the function's bus (as EVENT_BUS_NAME)")
    p.set_defaults(run=run)


def run(aws: Aws, args: argparse.Namespace) -> int:
    url = queue_url(args.queue_url)
    detail_type = args.backfill_detail_type
    if not detail_type or len(detail_type) > MAX_DETAIL_TYPE_CHARS:
        raise CliError(f"--backfill-detail-type must be 1 to {MAX_DETAIL_TYPE_CHARS} characters")
    resolved = resolve(aws, args)
    scope = resolve_scope(args, resolved.function)
    summary = Redrive(
        aws,
        url,
        resolved,
        scope,
        dry_run=args.dry_run,
        limit=args.limit,
        from_table=args.from_table,
        reasons=set(args.reason or ()),
        backfill_detail_type=detail_type,
        quiet=args.quiet,
    ).run()
    bus = resolved.settings.event_bus_name
    lines = summary_lines(
        summary, [resolved.describe(), scope.describe(), f"bus: {bus}"], args.dry_run
    )
    header = {
        "queue": url,
        "settings": resolved.describe().removeprefix("settings: "),
        "records_of": scope.describe().removeprefix("records of: "),
        "bus": bus,
    }
    emit(args, summary_document(summary, header, args.dry_run), lines)
    return EXIT_OK if summary.complete else EXIT_INCOMPLETE
