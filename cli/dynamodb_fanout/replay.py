"""`replay`: run the stream batches Lambda gave up on through the handler's code again.

When the function keeps failing on a batch, Lambda sends its on-failure
destination the batch's coordinates only (shard, first and last sequence
number), not the records. Within the stream's 24 h retention the records can
be read back from there and handed to the handler's own ``process``, which
publishes them or parks them in the DLQ as it always does. A message is
deleted only when its whole range was read and the handler accounted for
every record; anything else stays, visible again when the pass ends.

The handler runs with the deployed function's settings (``--function``), so
a record too large for the bus is claim-checked exactly as the function
would, or parked when it has no bucket.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dynamodb_fanout import pipeline
from dynamodb_fanout.arguments import EXIT_STATUS, positive
from dynamodb_fanout.aws import Aws, queue_url, region_of_arn, region_of_queue, require_bus
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, describe, error_code
from dynamodb_fanout.function_settings import Resolved, add_options, resolve
from dynamodb_fanout.queue import Queue
from dynamodb_fanout.stream_reader import Unreachable, read_range, sequence, shard_ids


@dataclass
class Batch:
    """The coordinates of one failed batch, from an on-failure destination message."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int | None

    @classmethod
    def parse(cls, body: str) -> Batch | None:
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            return cls(
                str(info["streamArn"]),
                str(info["shardId"]),
                str(info["startSequenceNumber"]),
                str(info["endSequenceNumber"]),
                int(info["batchSize"]) if "batchSize" in info else None,
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class Summary:
    replayed: int = 0  # messages whose batch was replayed completely
    records: int = 0
    reported_back: int = 0  # records the handler neither published nor parked
    left: Counter[str] = field(default_factory=Counter)
    delete_failed: int = 0
    notes: list[str] = field(default_factory=list)


def read_back(streams: Any, batch: Batch, shards: set[str]) -> tuple[list[dict[str, Any]], str]:
    """The batch's records as Lambda delivered them, and what could not be reached ('' if none)."""
    if batch.shard_id not in shards:
        return [], f"shard {batch.shard_id} is no longer in the stream (24 h retention)"
    try:
        records = read_range(streams, batch.stream_arn, batch.shard_id, batch.start, batch.end)
    except Unreachable as exc:
        return [], str(exc)
    last = sequence(records[-1]) if records else None
    if last != int(batch.end) or (batch.size is not None and len(records) < batch.size):
        wanted = batch.size if batch.size is not None else "?"
        return records, f"read {len(records)} of {wanted} records; the rest is gone from the stream"
    return records, ""


class Replay:
    def __init__(self, aws: Aws, args: argparse.Namespace, resolved: Resolved) -> None:
        self.aws = aws
        self.args = args
        url = queue_url(args.on_failure_queue, "on-failure queue URL")
        self.queue = Queue(aws.client("sqs", region_of_queue(url)), url)
        self.settings = resolved.settings
        self.summary = Summary()
        self.shards: dict[str, set[str]] = {}

    def run(self) -> Summary:
        self.queue.depth()
        bus = self.settings.event_bus_name
        require_bus(self.aws.client("events", region_of_arn(bus)), bus)
        dlq = self.settings.dlq_url
        Queue(self.aws.client("sqs", region_of_queue(dlq)), dlq).depth()
        seen = 0
        try:
            with self.queue.pass_():
                while self.args.limit is None or seen < self.args.limit:
                    room = 10 if self.args.limit is None else self.args.limit - seen
                    messages = self.queue.receive(room)
                    if messages is None:
                        break
                    for message in messages:
                        seen += 1
                        try:
                            self.one(message)
                        except Exception as exc:  # one message's trouble stays its own
                            why = describe(exc) or f"{type(exc).__name__}: {exc}"
                            self.leave(message, "could not replay", why[:240])
        finally:
            counts = self.queue.counts
            self.summary.delete_failed = counts.delete_failed + counts.release_failed
            self.summary.notes += counts.errors
        return self.summary

    def leave(self, message: dict[str, Any], why: str, detail: str) -> None:
        self.summary.left[why] += 1
        self.summary.notes.append(f"left {message['MessageId']}: {detail}")

    def one(self, message: dict[str, Any]) -> None:
        batch = Batch.parse(message.get("Body", ""))
        if batch is None:
            self.leave(message, "not an on-failure record", repr(message.get("Body", ""))[:80])
            return
        where = f"{batch.shard_id} {batch.start}..{batch.end}"
        streams = self.aws.client("dynamodbstreams", region_of_arn(batch.stream_arn))
        try:
            shards = self.shards.get(batch.stream_arn) or shard_ids(streams, batch.stream_arn)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            self.leave(message, "could not reach", f"{where}: the stream no longer exists")
            return
        self.shards[batch.stream_arn] = shards
        records, problem = read_back(streams, batch, shards)
        if not records:
            self.leave(message, "could not reach", f"{where}: {problem or 'no records'}")
            return
        if self.args.dry_run:
            self.summary.records += len(records)
            if problem:
                self.leave(message, "partly reachable", f"{where}: {problem}")
            return
        session = self.aws.for_handler(region_of_arn(self.settings.event_bus_name))
        reported = pipeline.run_handler(records, self.settings, session)
        self.summary.records += len(records) - len(reported)
        if reported:
            self.summary.reported_back += len(reported)
            self.leave(message, "handler reported records back", f"{where}: {len(reported)}")
        elif problem:
            self.leave(message, "partly reachable", f"{where}: {problem}")
        else:
            if self.queue.delete([message]):
                return  # replayed, but the message stays: counted as a delete failure
            self.summary.replayed += 1


HELP = "Replay the stream batches Lambda gave up on (its on-failure destination)."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("replay", help=HELP, description=HELP, epilog=EXIT_STATUS)
    common(p)
    p.add_argument("--on-failure-queue", required=True, help="SQS on-failure destination URL")
    p.add_argument("--dry-run", action="store_true", help="read the records back; publish nothing")
    p.add_argument("--limit", type=positive, help="look at no more than N messages")
    add_options(p, "bus name or ARN (as EVENT_BUS_NAME)", dlq=True)
    p.set_defaults(run=run)


def run(aws: Aws, args: argparse.Namespace) -> int:
    resolved = resolve(aws, args)
    if not resolved.settings.dlq_url:
        raise CliError("no DLQ: pass --dlq-url, or --function to use the function's")
    queue_url(resolved.settings.dlq_url, "DLQ URL")
    summary = Replay(aws, args, resolved).run()
    print(resolved.describe())
    verb = "would replay" if args.dry_run else "replayed"
    print(
        f"{verb} {summary.records} records"
        + ("" if args.dry_run else f" from {summary.replayed} failed batches (published or parked)")
    )
    if summary.reported_back:
        print(
            f"reported back by the handler (neither published nor parked): {summary.reported_back}"
        )
    print(f"left in the queue {sum(summary.left.values())}")
    for why, count in sorted(summary.left.items()):
        print(f"  {why}: {count}")
    if summary.delete_failed:
        print(f"not deleted or not released: {summary.delete_failed}")
    for note in summary.notes:
        print(f"  {note}")
    incomplete = summary.reported_back or summary.left or summary.delete_failed
    return EXIT_INCOMPLETE if incomplete else EXIT_OK
