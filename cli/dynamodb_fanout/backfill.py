"""`backfill`: publish every item of a table as an event, shaped like a stream INSERT.

A parallel Scan (one thread per segment) reads DynamoDB JSON, so numbers keep
every digit; each item becomes the stream record an INSERT of it would be
(``insert_record``, an ``eventID`` of ``backfill-<run>-<digest of the keys>``)
and goes through the handler's conversion and delivery engine, with
detail-type ``BACKFILL`` (so existing rules fire only if they opt in). What
cannot be published is written in the handler's DLQ format, under its
DLQ_MAX_BYTES: to the DLQ, or to a local file (mode 0600: it holds items).
With --checkpoint (also 0600), each segment's position is saved after every
page, once every item of that page is published or parked; a page with an
item that is neither stops its segment there, and the run exits 1.

With --function, only the function's own table may be backfilled: the one
its event source mapping reads (``provenance``).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import itertools
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamodb_fanout.arguments import EXIT_STATUS, HelpFormatter, positive, rate
from dynamodb_fanout.aws import (
    Aws,
    queue_url,
    region_of_arn,
    region_of_queue,
    require_bus,
    runtime_for,
    visible_messages,
)
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, describe, error_code
from dynamodb_fanout.function_settings import Resolved, add_options, resolve
from dynamodb_fanout.progress import Progress
from dynamodb_fanout.provenance import StreamRef, add_scope_option, resolve_scope
from dynamodb_fanout.report import Notes, add_output_options, emit
from fanout import (
    EXHAUSTED,
    MALFORMED,
    DeadLetter,
    DeadLetterQueue,
    Entry,
    MalformedRecord,
    Runtime,
    convert,
    decode,
    entry_size,
    number,
    to_json,
)

PAGE_ITEMS = 500  # Scan Limit: a checkpoint and a progress step every page
MAX_DETAIL_TYPE_CHARS = 128  # PutEventsRequestEntry DetailType
DETAIL_TYPE = "BACKFILL"
EVENT_ID_PREFIX = "backfill-"
DONE = "done"
PRIVATE = 0o600  # files that hold item data: the owner's only


# --- the record a stream would carry for an INSERT of an item ------------------------------


def key_digest(keys: Mapping[str, Any]) -> str:
    """A short stable digest of an item's key (binary keys included) for event IDs."""
    text = json.dumps(keys, sort_keys=True, default=_jsonable_key)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _jsonable_key(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(_jsonable_key(v) if isinstance(v, bytes) else v for v in value)
    raise TypeError(f"{type(value).__name__} in a key")


def insert_record(
    item: Mapping[str, Any],
    keys: Mapping[str, Any],
    table_arn: str,
    region: str,
    event_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The record a stream would carry for an INSERT of this item (no sequence of its own).

    Its ``eventSourceARN`` is the table's ARN (there is no stream record), its
    SequenceNumber "0".
    """
    return {
        "eventID": event_id,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "eventSourceARN": table_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": now,
            "Keys": dict(keys),
            "NewImage": dict(item),
            "SequenceNumber": "0",
            "StreamViewType": "NEW_IMAGE",
        },
    }


def is_backfill_record(record: Any) -> bool:
    """A record ``insert_record`` made for backfill (parked in the DLQ, read back by redrive)."""
    if not isinstance(record, dict):
        return False
    ddb = record.get("dynamodb")
    event_id = record.get("eventID")
    return (
        isinstance(event_id, str)
        and event_id.startswith(EVENT_ID_PREFIX)
        and isinstance(ddb, dict)
        and ddb.get("SequenceNumber") == "0"
        and "/stream/" not in str(record.get("eventSourceARN", ""))
    )


def with_detail(entry: Entry, detail_type: str | None = None, **fields: Any) -> Entry:
    """The same entry under another detail-type and/or with detail fields set, size recomputed."""
    detail = entry.detail
    if fields:
        value = json.loads(detail, parse_float=number, parse_int=number)
        value.update(fields)
        detail = to_json(value)
    detail_type = detail_type or entry.detail_type
    size = entry_size(entry.source, detail_type, detail, entry.resources, entry.time is not None)
    return dataclasses.replace(entry, detail_type=detail_type, detail=detail, size=size)


# --- files that hold item data ---------------------------------------------------------------


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only, atomically."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(descriptor, "w") as out:
        os.fchmod(out.fileno(), PRIVATE)  # a .tmp left by an earlier run keeps its mode
        out.write(text)
    os.replace(temporary, path)


class FailuresFile:
    """The DLQ's stand-in when there is none: each message body a line of a 0600 file.

    It takes SQS's SendMessageBatch, so the handler's own writer
    (``fanout.DeadLetterQueue``) builds the bodies, under the function's
    DLQ_MAX_BYTES; a write that fails leaves those items neither published
    nor parked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        lines = "".join(entry["MessageBody"] + "\n" for entry in Entries)
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
            with os.fdopen(descriptor, "a") as out:
                os.fchmod(out.fileno(), PRIVATE)
                out.write(lines)
            self.written += len(Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


# --- the run --------------------------------------------------------------------------------


class RateLimit:
    """At most ``rate`` events per second over all segments (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            self.next_at = max(self.next_at, now)
            wait_s = self.next_at - now
            self.next_at += self.interval
        if wait_s > 0:
            time.sleep(wait_s)


@dataclass
class Checkpoint:
    """Each segment's LastEvaluatedKey (or "done"), saved after every accounted-for page."""

    path: Path | None
    table_arn: str
    segments: int
    run_id: str
    positions: dict[str, Any] = field(default_factory=dict)
    published: int = 0
    dead_lettered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, path: Path | None, table_arn: str, segments: int) -> Checkpoint:
        if path is None or not path.exists():
            return cls(path, table_arn, segments, uuid.uuid4().hex[:12])
        try:
            saved = json.loads(path.read_text())
            checkpoint = cls(
                path,
                saved["table"],
                int(saved["segments"]),
                saved["run_id"],
                dict(saved["positions"]),
                int(saved.get("published", 0)),
                int(saved.get("dead_lettered", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CliError(f"checkpoint {path} is not a backfill checkpoint: {exc}") from None
        if checkpoint.table_arn != table_arn or checkpoint.segments != segments:
            raise CliError(
                f"checkpoint {path} is for {checkpoint.table_arn} with "
                f"{checkpoint.segments} segments; delete it or pass --segments "
                f"{checkpoint.segments} for that table"
            )
        return checkpoint

    def start(self, segment: int) -> dict[str, Any] | str | None:
        return self.positions.get(str(segment))

    def advance(
        self, segment: int, last_key: dict[str, Any] | None, published: int, parked: int
    ) -> None:
        with self.lock:
            self.positions[str(segment)] = last_key if last_key else DONE
            self.published += published
            self.dead_lettered += parked
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        document = {
            "table": self.table_arn,
            "segments": self.segments,
            "run_id": self.run_id,
            "positions": self.positions,
            "published": self.published,
            "dead_lettered": self.dead_lettered,
        }
        write_private(self.path, json.dumps(document, indent=1) + "\n")


@dataclass
class Table:
    name: str
    arn: str
    region: str
    key_names: list[str]
    item_count: int


def describe_table(dynamodb: Any, name: str) -> Table:
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(
                f"table {name!r} does not exist in {dynamodb.meta.region_name}"
            ) from None
        raise
    arn = table["TableArn"]
    keys = [k["AttributeName"] for k in table["KeySchema"]]
    region = arn.split(":")[3] or dynamodb.meta.region_name
    return Table(table["TableName"], arn, region, keys, int(table.get("ItemCount", 0)))


def stream_record(item: dict[str, Any], table: Table, run_id: str, now: datetime) -> dict[str, Any]:
    """The record a stream would carry for an INSERT of this item (binary keys included)."""
    keys = {name: item[name] for name in table.key_names if name in item}
    event_id = f"{EVENT_ID_PREFIX}{run_id}-{key_digest(keys)}"
    return insert_record(item, keys, table.arn, table.region, event_id, now)


@dataclass
class Page:
    """Where one page's items ended."""

    published: int = 0
    claim_checked: int = 0
    parked: int = 0
    unaccounted: int = 0  # neither published nor parked


class Backfill:
    """The scan, the publishing and the bookkeeping of one run."""

    def __init__(
        self,
        aws: Aws,
        args: argparse.Namespace,
        table: Table,
        ckpt: Checkpoint,
        runtime: Runtime,
    ) -> None:
        self.args = args
        self.table = table
        self.checkpoint = ckpt
        self.dynamodb = aws.client("dynamodb", table.region)
        self.runtime = runtime
        self.settings = runtime.settings
        self.failures = FailuresFile(args.failures)
        self.file_queue = DeadLetterQueue(
            self.failures,
            str(args.failures),
            self.settings.dlq_max_bytes,
            self.settings.event_bus_name,
        )
        self.rate = RateLimit(args.rate)
        self.indices = itertools.count()
        self.stop = threading.Event()
        self.progress = Progress(
            "backfill", table.item_count or None, enabled=not args.quiet, every_s=None
        )
        self.reasons: Counter[str] = Counter()  # parked, by reason
        self.unaccounted = 0
        self.notes = Notes()
        self._lock = threading.Lock()

    def segment(self, segment: int) -> None:
        """Scan one segment page by page; stop at a page that is not fully accounted for."""
        try:
            self._segment(segment)
        except Exception as exc:  # its checkpoint stays before the page it was on
            self.notes.add(
                "stopped", f"segment {segment}: {describe(exc) or f'{type(exc).__name__}: {exc}'}"
            )

    def _segment(self, segment: int) -> None:
        start = self.checkpoint.start(segment)
        if start == DONE:
            return
        while not self.stop.is_set():
            request: dict[str, Any] = {"TableName": self.table.name, "Limit": PAGE_ITEMS}
            if self.args.segments > 1:  # one segment is a plain Scan
                request.update(Segment=segment, TotalSegments=self.args.segments)
            if start:
                request["ExclusiveStartKey"] = start
            page = self.dynamodb.scan(**request)
            done = self.page(page.get("Items", []))
            if done.unaccounted:
                self.notes.add(
                    "stopped",
                    f"segment {segment}: {done.unaccounted} items of a page neither published "
                    "nor parked; its checkpoint is before that page",
                )
                return
            start = page.get("LastEvaluatedKey")
            self.checkpoint.advance(segment, start, done.published, done.parked)
            if not start:
                return

    def page(self, items: list[dict[str, Any]]) -> Page:
        """Publish one page's items through the engine; park what cannot be published."""
        now = datetime.now(UTC)
        entries: list[Entry] = []
        letters: list[DeadLetter] = []
        for item in items:
            index = next(self.indices)
            raw = stream_record(item, self.table, self.checkpoint.run_id, now)
            try:
                entry = convert(decode(index, raw), self.settings)
            except MalformedRecord as exc:
                letters.append(DeadLetter(index, raw, MALFORMED, str(exc)[:1000]))
                continue
            entries.append(with_detail(entry, self.args.detail_type))
        outcome = self.runtime.publish(self._paced(entries))
        letters += outcome.letters
        for left in outcome.left:  # retryable, out of attempts: parked, as redrive takes them
            envelope = left.envelope
            letters.append(
                DeadLetter(
                    envelope.index, envelope.raw, EXHAUSTED, left.why, left.attempts, envelope.entry
                )
            )
        result = Page(len(outcome.published), len(outcome.claim_checked))
        result.parked, result.unaccounted = self.park(letters)
        self.progress.add(
            len(items),
            published=result.published,
            parked=result.parked,
            claim_checked=result.claim_checked,
        )
        return result

    def _paced(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        for entry in entries:
            self.rate.take()
            yield entry

    def park(self, letters: list[DeadLetter]) -> tuple[int, int]:
        """To the DLQ as the handler parks; what it refuses, and all without one, to the file.

        (parked, neither published nor parked).
        """
        if not letters:
            return 0, 0
        unparked = letters
        parked: list[DeadLetter] = []
        if self.settings.dlq_url:
            sent = self.runtime.dead_letters.send(letters)
            parked += sent.parked
            unparked = [letter for letter, _ in sent.unparked]
        if unparked:
            sent = self.file_queue.send(unparked)
            parked += sent.parked
            for _, why in sent.unparked[:1]:
                self.notes.add("not parked", f"{self.args.failures}: {why}")
        with self._lock:
            self.reasons.update(letter.reason for letter in parked)
            self.unaccounted += len(letters) - len(parked)
        return len(parked), len(letters) - len(parked)

    def run(self) -> None:
        segments = range(self.args.segments)
        self.progress.start()
        with ThreadPoolExecutor(self.args.segments, thread_name_prefix="segment") as pool:
            futures = [pool.submit(self.segment, s) for s in segments]
            try:
                for future in futures:
                    while True:  # short waits, so Ctrl-C is seen at once
                        try:
                            future.result(timeout=0.5)
                            break
                        except TimeoutError:
                            continue
            except BaseException:
                self.stop.set()  # segments finish their page, save, and stop
                raise
            finally:
                self.progress.finish()


EXAMPLES = """examples:
  dynamodb-fanout backfill --table Orders --function orders-fanout
  dynamodb-fanout backfill --table Orders --function orders-fanout --checkpoint orders.json \\
      --rate 500 --json > backfill-summary.json"""

HELP = "Publish every item of a table as an event (a parallel Scan)."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "backfill",
        help=HELP,
        description=HELP,
        epilog=f"{EXAMPLES}\n\n{EXIT_STATUS}",
        formatter_class=HelpFormatter,
    )
    common(p)
    p.add_argument("--table", required=True, help="table name or ARN")
    p.add_argument(
        "--detail-type", default=DETAIL_TYPE, help=f"detail-type (default {DETAIL_TYPE})"
    )
    p.add_argument("--segments", type=positive, default=4, help="parallel Scan segments (4)")
    p.add_argument("--rate", type=rate, help="at most this many events per second")
    p.add_argument(
        "--checkpoint", type=Path, help="file to resume from and record progress in (mode 0600)"
    )
    p.add_argument(
        "--failures",
        type=Path,
        default=Path("backfill-failures.jsonl"),
        help="without a DLQ (--dlq-url or the function's), failures go here, one DLQ body a "
        "line (mode 0600)",
    )
    add_output_options(p)
    add_scope_option(p)
    add_options(p, "bus name or ARN (as EVENT_BUS_NAME)", dlq=True)
    p.set_defaults(run=run)


def run(aws: Aws, args: argparse.Namespace) -> int:
    detail_type = args.detail_type
    if not detail_type or len(detail_type) > MAX_DETAIL_TYPE_CHARS:
        raise CliError(f"--detail-type must be 1 to {MAX_DETAIL_TYPE_CHARS} characters")
    resolved = resolve(aws, args)
    settings = resolved.settings
    dlq_url = settings.dlq_url
    table = describe_table(aws.client("dynamodb", region_of_arn(args.table)), args.table)
    scope = resolve_scope(args, resolved.function, StreamRef(table.arn))
    problem = scope.record_problem({"eventSourceARN": table.arn})
    if problem is not None:
        raise CliError(
            f"table {table.arn} is not the function's: {scope.describe()}; backfill publishes "
            "only the function's own table"
        )
    require_bus(aws, settings)
    if dlq_url:
        url = queue_url(dlq_url, "DLQ URL")
        visible_messages(aws.client("sqs", region_of_queue(url)), url)
    checkpoint = Checkpoint.open(args.checkpoint, table.arn, args.segments)
    if all(checkpoint.start(s) == DONE for s in range(args.segments)):
        said = f"every segment is already done in {args.checkpoint}; delete it to start over"
        document = {"command": "backfill", "table": table.arn, "already_done": said}
        emit(args, {**document, "exit_status": EXIT_OK}, [said])
        return EXIT_OK
    owner = resolved.function.account if resolved.function else None
    backfill = Backfill(aws, args, table, checkpoint, runtime_for(aws, settings, owner))
    started = time.monotonic()
    try:
        backfill.run()
    except KeyboardInterrupt:
        if args.checkpoint:
            print(
                f"interrupted; run again with --checkpoint {args.checkpoint} to resume",
                file=sys.stderr,
            )
        raise
    elapsed = time.monotonic() - started
    return report(args, resolved, table, backfill, elapsed)


def report(
    args: argparse.Namespace, resolved: Resolved, table: Table, backfill: Backfill, elapsed: float
) -> int:
    scanned = backfill.progress.done
    notes = backfill.progress.notes
    parked = sum(backfill.reasons.values())
    complete = not (backfill.reasons or backfill.unaccounted or backfill.notes)
    status = EXIT_OK if complete else EXIT_INCOMPLETE
    bus = resolved.settings.event_bus_name
    lines = [
        resolved.describe(),
        f"backfill {table.name} -> {bus} ({args.detail_type}): {scanned} items scanned in "
        f"{args.segments} segments, {notes.get('published', 0)} published, {parked} "
        f"dead-lettered, in {elapsed:.1f}s ({scanned / elapsed if elapsed else 0:,.0f} items/s)",
    ]
    if notes.get("claim_checked"):
        lines.append(f"  of which claim-checked: {notes['claim_checked']}")
    lines += [f"  dead-lettered {r}: {n}" for r, n in sorted(backfill.reasons.items())]
    if backfill.failures.written:
        lines.append(
            f"  {backfill.failures.written} written to {args.failures} (the DLQ format, mode 0600)"
        )
    if backfill.unaccounted:
        lines.append(f"neither published nor parked: {backfill.unaccounted}")
    lines += ["  " + line for line in backfill.notes.lines()]
    if args.checkpoint:
        lines.append(
            f"  checkpoint {args.checkpoint}: {backfill.checkpoint.published} published, "
            f"{backfill.checkpoint.dead_lettered} dead-lettered over all runs"
        )
        if not complete and backfill.unaccounted:
            lines.append(f"  run again with --checkpoint {args.checkpoint} to resume")
    document = {
        "command": "backfill",
        "settings": resolved.describe().removeprefix("settings: "),
        "table": table.arn,
        "bus": bus,
        "detail_type": args.detail_type,
        "segments": args.segments,
        "scanned": scanned,
        "published": notes.get("published", 0),
        "claim_checked": notes.get("claim_checked", 0),
        "dead_lettered": {"total": parked, "by_reason": dict(sorted(backfill.reasons.items()))},
        "written_to_file": backfill.failures.written,
        "failures_file": str(args.failures) if backfill.failures.written else None,
        "neither_published_nor_parked": backfill.unaccounted,
        "notes": backfill.notes.as_json(),
        "checkpoint": None
        if args.checkpoint is None
        else {
            "path": str(args.checkpoint),
            "published": backfill.checkpoint.published,
            "dead_lettered": backfill.checkpoint.dead_lettered,
        },
        "seconds": round(elapsed, 3),
        "exit_status": status,
    }
    emit(args, document, lines)
    return status
