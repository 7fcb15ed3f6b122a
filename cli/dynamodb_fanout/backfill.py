"""`backfill`: publish every item of a table as an event, shaped like a stream INSERT.

A parallel Scan (one thread per segment) reads DynamoDB JSON, so numbers keep
every digit; each item becomes the stream record an INSERT of it would be and
goes through the handler's conversion, batching and publisher, with
detail-type ``BACKFILL`` (so existing rules fire only if they opt in). What
cannot be published is written in the handler's DLQ format: to --dlq-url, or
to a local file. With --checkpoint, each segment's position is saved after
every page, once that page's events are published or parked, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamodb_fanout import pipeline
from dynamodb_fanout.arguments import EXIT_STATUS, positive, rate
from dynamodb_fanout.aws import (
    Aws,
    queue_url,
    region_of_arn,
    region_of_queue,
    require_bus,
    visible_messages,
)
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, error_code
from dynamodb_fanout.function_settings import Resolved, add_options, resolve
from dynamodb_fanout.progress import Progress

PAGE_ITEMS = 500  # Scan Limit: a checkpoint and a progress step every page
MAX_ATTEMPTS = 3
CONCURRENCY_PER_SEGMENT = 4
DONE = "done"


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
    """Each segment's LastEvaluatedKey (or "done"), saved after every page."""

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
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=1) + "\n")
        os.replace(temporary, self.path)


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
    event_id = f"backfill-{run_id}-{pipeline.key_digest(keys)}"
    return pipeline.insert_record(item, keys, table.arn, table.region, event_id, now)


class Backfill:
    """The scan, the publishing and the bookkeeping of one run."""

    def __init__(
        self, aws: Aws, args: argparse.Namespace, table: Table, ckpt: Checkpoint, resolved: Resolved
    ) -> None:
        self.args = args
        self.table = table
        self.checkpoint = ckpt
        self.dynamodb = aws.client("dynamodb", table.region)
        self.settings = resolved.settings
        self.bus = self.settings.event_bus_name
        self.dlq_url = self.settings.dlq_url
        concurrency = CONCURRENCY_PER_SEGMENT * args.segments
        self.events = pipeline.events_client(aws, region_of_arn(self.bus), concurrency)
        self.claim_check = pipeline.claim_check_for(aws, self.settings)
        self.sqs = aws.client("sqs", region_of_queue(self.dlq_url)) if self.dlq_url else None
        self.rate = RateLimit(args.rate)
        self.indices = itertools.count()
        self.stop = threading.Event()
        self.file_lock = threading.Lock()
        self.progress = Progress(
            "backfill", table.item_count or None, enabled=not args.quiet, every_s=None
        )
        self.reasons: Counter[str] = Counter()
        self.written_to_file = 0

    def segment(self, segment: int) -> None:
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
            published, parked = self.page(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            self.checkpoint.advance(segment, start, published, parked)
            if not start:
                return

    def page(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Publish one page's items; (published, dead-lettered). Raises if any is neither."""
        now = datetime.now(UTC)
        entries: dict[int, pipeline.Entry] = {}
        letters: list[pipeline.DeadLetter] = []
        for item in items:
            index = next(self.indices)
            raw = stream_record(item, self.table, self.checkpoint.run_id, now)
            try:
                entry = pipeline.convert_record(index, raw, self.settings)
            except pipeline.MalformedRecord as exc:
                letters.append(pipeline.DeadLetter(index, raw, pipeline.MALFORMED, str(exc)))
                continue
            entries[index] = pipeline.with_detail(entry, self.args.detail_type)
        result = pipeline.send(
            self.events,
            self.bus,
            self.settings,
            self._paced(entries.values()),
            self.claim_check,
            CONCURRENCY_PER_SEGMENT,
        )
        letters += result.letters(entries)
        self.park(letters)
        published = len(result.published)
        self.progress.add(
            len(items),
            published=published,
            failed=len(letters),
            claim_checked=len(result.claim_checked),
        )
        return published, len(letters)

    def _paced(self, entries: Iterable[pipeline.Entry]) -> Iterator[pipeline.Entry]:
        for entry in entries:
            self.rate.take()
            yield entry

    def park(self, letters: list[pipeline.DeadLetter]) -> None:
        """To the DLQ as the handler parks; what the DLQ refuses, and all without one, to a file."""
        if not letters:
            return
        self.reasons.update(letter.reason for letter in letters)
        unparked = letters
        if self.sqs is not None:
            _, refused = pipeline.park(self.sqs, self.settings, letters)
            unparked = [letter for letter, _ in refused]
        if unparked:
            bodies = [pipeline.dead_letter_body(x, self.settings) for x in unparked]
            with self.file_lock, self.args.failures.open("a") as out:
                out.writelines(body + "\n" for body in bodies)
                self.written_to_file += len(bodies)

    def run(self) -> None:
        segments = range(self.args.segments)
        with ThreadPoolExecutor(self.args.segments, thread_name_prefix="segment") as pool:
            futures: set[Future[None]] = {pool.submit(self.segment, s) for s in segments}
            try:
                while futures:
                    done, futures = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                    for future in done:
                        future.result()
            except BaseException:
                self.stop.set()  # segments finish their page, save, and stop
                raise
            finally:
                self.progress.finish()


HELP = "Publish every item of a table as an event (a parallel Scan)."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("backfill", help=HELP, description=HELP, epilog=EXIT_STATUS)
    common(p)
    p.add_argument("--table", required=True, help="table name or ARN")
    p.add_argument("--detail-type", default="BACKFILL", help="detail-type (default BACKFILL)")
    p.add_argument("--segments", type=positive, default=4, help="parallel Scan segments (4)")
    p.add_argument("--rate", type=rate, help="at most this many events per second")
    p.add_argument("--checkpoint", type=Path, help="file to resume from and record progress in")
    p.add_argument(
        "--failures",
        type=Path,
        default=Path("backfill-failures.jsonl"),
        help="without a DLQ (--dlq-url or the function's), failures go here, one DLQ body a line",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_options(p, "bus name or ARN (as EVENT_BUS_NAME)", dlq=True)
    p.set_defaults(run=run)


def run(aws: Aws, args: argparse.Namespace) -> int:
    detail_type = args.detail_type
    if not detail_type or len(detail_type) > pipeline.MAX_DETAIL_TYPE_CHARS:
        raise CliError(f"--detail-type must be 1 to {pipeline.MAX_DETAIL_TYPE_CHARS} characters")
    resolved = resolve(aws, args)
    bus, dlq_url = resolved.settings.event_bus_name, resolved.settings.dlq_url
    table = describe_table(aws.client("dynamodb", region_of_arn(args.table)), args.table)
    require_bus(aws.client("events", region_of_arn(bus)), bus)
    if dlq_url:
        url = queue_url(dlq_url, "DLQ URL")
        visible_messages(aws.client("sqs", region_of_queue(url)), url)
    checkpoint = Checkpoint.open(args.checkpoint, table.arn, args.segments)
    if all(checkpoint.start(s) == DONE for s in range(args.segments)):
        print(f"every segment is already done in {args.checkpoint}; delete it to start over")
        return EXIT_OK
    backfill = Backfill(aws, args, table, checkpoint, resolved)
    started = time.monotonic()
    try:
        backfill.run()
    except KeyboardInterrupt:
        if args.checkpoint:
            print(f"interrupted; run again with --checkpoint {args.checkpoint} to resume")
        raise
    elapsed = time.monotonic() - started
    scanned = backfill.progress.done
    print(resolved.describe())
    print(
        f"backfill {table.name} -> {bus} ({args.detail_type}): {scanned} items "
        f"scanned in {args.segments} segments, {backfill.progress.notes.get('published', 0)} "
        f"published, {sum(backfill.reasons.values())} dead-lettered, in {elapsed:.1f}s "
        f"({scanned / elapsed if elapsed else 0:,.0f} items/s)"
    )
    if backfill.progress.notes.get("claim_checked"):
        print(f"  of which claim-checked: {backfill.progress.notes['claim_checked']}")
    for reason, count in sorted(backfill.reasons.items()):
        print(f"  dead-lettered {reason}: {count}")
    if backfill.written_to_file:
        print(f"  {backfill.written_to_file} written to {args.failures} (the DLQ format)")
    if args.checkpoint:
        print(
            f"  checkpoint {args.checkpoint}: {checkpoint.published} published, "
            f"{checkpoint.dead_lettered} dead-lettered over all runs"
        )
    return EXIT_INCOMPLETE if backfill.reasons else EXIT_OK
