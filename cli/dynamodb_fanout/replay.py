"""`replay`: run the stream batches Lambda gave up on through the handler's code again.

When the function keeps failing on a batch, Lambda sends its on-failure
destination the batch's coordinates only (shard, first and last sequence
number), not the records. Within the stream's 24 h retention the records can
be read back from there and handed to the handler's own ``process``, which
publishes them or parks them in the DLQ as it always does. A message is
deleted only when its whole range was read and the handler accounted for
every record; anything else stays, visible again when the pass ends.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ParamValidationError

from dynamodb_fanout import pipeline
from dynamodb_fanout.aws import (
    Aws,
    queue_url,
    region_of_arn,
    region_of_queue,
    require_bus,
    visible_messages,
)
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, error_code
from dynamodb_fanout.redrive import EMPTY_RECEIVES_TO_STOP, Queue

EMPTY_PAGES_TO_STOP = 3  # an open shard can answer empty pages before the records
UNREACHABLE = {
    "TrimmedDataAccessException": "past the stream's 24 h retention",
    "ResourceNotFoundException": "the stream or shard no longer exists",
    "ExpiredIteratorException": "the shard iterator expired",
    "ValidationException": "the stream does not accept this position",
}


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
    notes: list[str] = field(default_factory=list)


def shard_ids(streams: Any, stream_arn: str) -> set[str]:
    """The shards the stream still has (DescribeStream, page by page)."""
    ids: set[str] = set()
    start: dict[str, str] = {}
    while True:
        description = streams.describe_stream(StreamArn=stream_arn, **start)["StreamDescription"]
        ids.update(shard["ShardId"] for shard in description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return ids
        start = {"ExclusiveStartShardId": last}


def read_back(streams: Any, batch: Batch, shards: set[str]) -> tuple[list[dict[str, Any]], str]:
    """The batch's records as Lambda delivered them, and what could not be reached ('' if none)."""
    if batch.shard_id not in shards:
        return [], f"shard {batch.shard_id} is no longer in the stream (24 h retention)"
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start,
        )["ShardIterator"]
    except ParamValidationError as exc:
        return [], "not a valid stream position: " + " ".join(str(exc).split())
    except Exception as exc:
        code = error_code(exc)
        if code not in UNREACHABLE:
            raise
        return [], f"{code}: {UNREACHABLE[code]}"
    start, end = int(batch.start), int(batch.end)
    records: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < EMPTY_PAGES_TO_STOP:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page.get("Records", []):
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                iterator = None
                break
            if sequence >= start:
                records.append({**record, "eventSourceARN": batch.stream_arn})  # as Lambda adds it
        else:
            empty = 0 if page.get("Records") else empty + 1
            iterator = page.get("NextShardIterator")
        if records and int(records[-1]["dynamodb"]["SequenceNumber"]) == end:
            break
    last = int(records[-1]["dynamodb"]["SequenceNumber"]) if records else None
    if last != end or (batch.size is not None and len(records) < batch.size):
        wanted = batch.size if batch.size is not None else "?"
        return records, f"read {len(records)} of {wanted} records; the rest is gone from the stream"
    return records, ""


class Replay:
    def __init__(self, aws: Aws, args: argparse.Namespace) -> None:
        self.aws = aws
        self.args = args
        url = queue_url(args.on_failure_queue, "on-failure queue URL")
        self.queue = Queue(aws.client("sqs", region_of_queue(url)), url)
        self.settings = pipeline.make_settings(
            args.event_bus, args.dlq_url, args.source, args.detail_format
        )
        self.summary = Summary()
        self.shards: dict[str, set[str]] = {}

    def run(self) -> Summary:
        visible_messages(self.queue.sqs, self.queue.url)
        require_bus(
            self.aws.client("events", region_of_arn(self.args.event_bus)), self.args.event_bus
        )
        visible_messages(
            self.aws.client("sqs", region_of_queue(self.args.dlq_url)), self.args.dlq_url
        )
        seen = 0
        with self.queue.pass_():
            empty = 0
            while empty < EMPTY_RECEIVES_TO_STOP:
                room = 10 if self.args.limit is None else self.args.limit - seen
                if room <= 0:
                    break
                fresh = []
                for message in self.queue.receive(room):
                    if message["MessageId"] in self.queue.held:
                        self.queue.release([message["ReceiptHandle"]])
                    else:
                        fresh.append(message)
                empty = 0 if fresh else empty + 1
                for message in fresh:
                    seen += 1
                    self.one(message)
        return self.summary

    def leave(self, message: dict[str, Any], why: str, detail: str) -> None:
        self.queue.hold(message)
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
            self.queue.hold(message)
            self.summary.records += len(records)
            if problem:
                self.summary.notes.append(f"partly reachable {where}: {problem}")
            return
        session = self.aws.for_handler(region_of_arn(self.args.event_bus))
        reported = pipeline.run_handler(records, self.settings, session)
        self.summary.records += len(records) - len(reported)
        if reported:
            self.summary.reported_back += len(reported)
            self.leave(message, "handler reported records back", f"{where}: {len(reported)}")
        elif problem:
            self.leave(message, "partly reachable", f"{where}: {problem}")
        else:
            self.queue.delete([message])
            self.summary.replayed += 1


def run(aws: Aws, args: argparse.Namespace) -> int:
    queue_url(args.dlq_url, "DLQ URL")
    summary = Replay(aws, args).run()
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
    for note in summary.notes:
        print(f"  {note}")
    incomplete = (
        summary.reported_back
        or summary.left.get("could not reach")
        or summary.left.get("partly reachable")
    )
    return EXIT_INCOMPLETE if incomplete else EXIT_OK
