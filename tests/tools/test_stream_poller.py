"""The local stream poller behaves like Lambda's DynamoDB event source mapping."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dynamodb_fanout.stream_poller import StreamPoller, first_failed_index, to_lambda_record

REGION = "us-east-1"


@pytest.fixture
def table():
    """A moto table with a NEW_AND_OLD_IMAGES stream; yields (dynamodb client, stream ARN)."""
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        created = ddb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield ddb, created["TableDescription"]["LatestStreamArn"]


def write(ddb, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"o{i}"}, "n": {"N": str(i)}})


class Recorder:
    """A handler that records every batch and fails the records it is told to."""

    def __init__(self, fail: dict[int, int] | None = None, raise_times: int = 0) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail = dict(fail or {})  # item number -> how many more times to fail it
        self.raise_times = raise_times

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event["Records"]
        self.batches.append(records)
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("boom")
        failures = []
        for record in records:
            n = int(record["dynamodb"]["NewImage"]["n"]["N"])
            if self.fail.get(n, 0) > 0:
                self.fail[n] -= 1
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        return {"batchItemFailures": failures}

    def numbers(self) -> list[int]:
        return [int(r["dynamodb"]["NewImage"]["n"]["N"]) for b in self.batches for r in b]


def poller(stream_arn: str, handler, **kwargs) -> StreamPoller:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    return StreamPoller(streams, stream_arn, handler, **kwargs)


def test_reads_everything_in_batches_of_the_batch_size(table):
    ddb, arn = table
    write(ddb, 25)
    handler = Recorder()
    p = poller(arn, handler, batch_size=10)
    p.drain()
    assert [len(b) for b in handler.batches] == [10, 10, 5]
    assert handler.numbers() == list(range(25))
    assert (p.stats.read, p.stats.acknowledged, p.stats.discarded, p.pending) == (25, 25, 0, 0)


def test_records_have_the_lambda_event_shape(table):
    ddb, arn = table
    write(ddb, 1)
    handler = Recorder()
    poller(arn, handler).drain()
    record = handler.batches[0][0]
    assert record["eventSourceARN"] == arn
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventName"] == "INSERT"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_picks_up_records_written_after_it_caught_up(table):
    ddb, arn = table
    write(ddb, 3)
    handler = Recorder()
    p = poller(arn, handler, batch_size=100)
    p.drain()
    write(ddb, 4, start=3)
    p.drain()
    assert handler.numbers() == list(range(7))
    assert p.stats.read == 7


def test_partial_failure_redelivers_from_the_lowest_reported_record(table):
    ddb, arn = table
    write(ddb, 6)
    handler = Recorder(fail={4: 1, 2: 1})
    p = poller(arn, handler, batch_size=6)
    p.drain()
    assert [len(b) for b in handler.batches] == [6, 4]
    assert handler.numbers() == [0, 1, 2, 3, 4, 5, 2, 3, 4, 5]
    assert p.stats.partial_failures == 1
    assert p.stats.redelivered == 4
    assert (p.stats.acknowledged, p.stats.discarded) == (6, 0)


def test_handler_error_retries_the_whole_batch(table):
    ddb, arn = table
    write(ddb, 3)
    handler = Recorder(raise_times=2)
    p = poller(arn, handler, batch_size=10)
    p.drain()
    assert handler.numbers() == [0, 1, 2] * 3
    assert p.stats.handler_errors == 2
    assert p.stats.last_error == "RuntimeError: boom"
    assert p.stats.acknowledged == 3


def test_retries_are_bounded_then_the_batch_is_discarded(table):
    ddb, arn = table
    write(ddb, 5)
    handler = Recorder(fail={1: 100})
    p = poller(arn, handler, batch_size=3, maximum_retry_attempts=2)
    p.drain()
    # first attempt [0,1,2] acks 0; retries [1,2,3] twice; then 1..3 are discarded
    assert handler.numbers()[:9] == [0, 1, 2, 1, 2, 3, 1, 2, 3]
    assert handler.numbers()[9:] == [4]
    assert p.stats.discarded == 3
    info = p.stats.on_failure[0]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 3
    assert info["startSequenceNumber"] == p.stats.discarded_records[0]["dynamodb"]["SequenceNumber"]
    assert p.stats.read == p.stats.acknowledged + p.stats.discarded == 5


def test_unknown_item_identifier_fails_the_whole_batch():
    batch = [{"dynamodb": {"SequenceNumber": "10"}}, {"dynamodb": {"SequenceNumber": "11"}}]
    assert first_failed_index(batch, {"batchItemFailures": [{"itemIdentifier": "99"}]}) == 0
    assert first_failed_index(batch, {"batchItemFailures": [{"itemIdentifier": ""}]}) == 0
    assert first_failed_index(batch, {"batchItemFailures": [{"itemIdentifier": "11"}]}) == 1
    assert first_failed_index(batch, {"batchItemFailures": []}) is None
    assert first_failed_index(batch, None) is None


def test_conversion_turns_datetimes_into_epoch_seconds():
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    record = {"eventID": "e", "dynamodb": {"ApproximateCreationDateTime": when, "Keys": {}}}
    converted = to_lambda_record(record, "arn:stream")
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == int(when.timestamp())
    assert converted["eventSourceARN"] == "arn:stream"
    assert record["dynamodb"]["ApproximateCreationDateTime"] is when  # input left alone


class SplitStream:
    """A fake stream with a closed parent shard and an open child, like after a split."""

    def __init__(self) -> None:
        self.shards = {
            "child": (["3", "4"], False),
            "parent": (["1", "2"], True),
        }

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {
            "StreamDescription": {
                "Shards": [
                    {"ShardId": "child", "ParentShardId": "parent"},
                    {"ShardId": "parent"},
                ]
            }
        }

    def get_shard_iterator(self, ShardId: str, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": f"{ShardId}:0"}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:
        shard, position = ShardIterator.split(":")
        sequence_numbers, closed = self.shards[shard]
        records = [
            {"eventID": s, "dynamodb": {"SequenceNumber": s}}
            for s in sequence_numbers[int(position) :]
        ]
        end = len(sequence_numbers)
        following = None if closed else f"{shard}:{end}"
        return {"Records": records, "NextShardIterator": following}


def test_parent_shard_is_finished_before_its_child():
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"])

    p = StreamPoller(SplitStream(), "arn:stream", handler, batch_size=10)
    p.drain()
    assert seen == ["1", "2", "3", "4"]
    assert p.stats.shards == 2


def test_a_new_poller_resumes_from_the_checkpoints_of_the_last(table):
    ddb, arn = table
    write(ddb, 3)
    first = poller(arn, Recorder())
    first.drain()
    write(ddb, 2, start=3)
    handler = Recorder()
    second = poller(arn, handler, checkpoints=first.checkpoints)
    second.drain()
    assert handler.numbers() == [3, 4]
    assert second.stats.read == 2


class TrimmedStream(SplitStream):
    """One shard per DescribeStream page; a position after "1" is past the retention."""

    def describe_stream(self, ExclusiveStartShardId: str = "", **_: Any) -> dict[str, Any]:
        if not ExclusiveStartShardId:
            shard = {"ShardId": "parent"}
            return {"StreamDescription": {"Shards": [shard], "LastEvaluatedShardId": "parent"}}
        return {"StreamDescription": {"Shards": [{"ShardId": "child", "ParentShardId": "parent"}]}}

    def get_shard_iterator(self, ShardId: str, **position: Any) -> dict[str, Any]:
        if position.get("SequenceNumber") == "1":
            error = {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}}
            raise ClientError(error, "GetShardIterator")
        return super().get_shard_iterator(ShardId=ShardId)


def test_a_checkpoint_past_the_retention_goes_on_from_the_oldest_record_kept():
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"])

    p = StreamPoller(TrimmedStream(), "arn:stream", handler, checkpoints={"parent": "1"})
    p.drain()
    assert seen == ["1", "2", "3", "4"]  # every shard of every DescribeStream page, in order
    assert p.stats.shards == 2
    assert p.stats.restarted == {
        "parent": "checkpoint 1: TrimmedDataAccessException: past the stream's 24 h retention"
    }


def test_drain_stops_when_told_and_says_so(table):
    ddb, arn = table
    write(ddb, 3)
    stop = threading.Event()
    handler = Recorder()
    p = poller(arn, handler, batch_size=1, on_invoke=lambda stats: stop.set())
    assert p.drain(stop=stop) is False
    assert handler.numbers() == [0]  # the batch in hand is finished, no other begun
    assert p.checkpoints and p.pending == 2
    p.on_invoke = None
    stop.clear()
    assert p.drain(stop=stop, timeout_s=None) is True
    assert handler.numbers() == [0, 1, 2]
