"""`dynamodb-fanout replay`: a batch Lambda gave up on, read back from the stream and published."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.cli.conftest import (
    ACCOUNT,
    BUS,
    FUNCTION,
    REGION,
    client,
    consumer_queue,
    drain,
    table_with_stream,
    visible,
)

TABLE = "Orders"
BIG = "98765432109876543210987654321098765432"  # 38 digits
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"


def read_stream(moto, arn: str) -> tuple[str, list[dict]]:
    """The stream's first shard and its records, as GetRecords returns them."""
    streams = client(moto, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return shard, streams.get_records(ShardIterator=iterator)["Records"]


def stream_with_changes(moto, count: int, table: str = TABLE) -> tuple[str, str, list[dict]]:
    """A table with a stream and `count` inserts: (stream ARN, shard id, its records)."""
    arn = table_with_stream(moto, table)
    for i in range(count):
        item = {"pk": {"S": f"order-{i}"}, "amount": {"N": BIG}}
        client(moto, "dynamodb").put_item(TableName=table, Item=item)
    return (arn, *read_stream(moto, arn))


def on_failure(
    arn: str, shard: str, first: dict, last: dict, size: int, function: str = FUNCTION_ARN
) -> str:
    """The message Lambda sends a DynamoDB stream's on-failure destination."""
    return json.dumps(
        {
            "requestContext": {
                "requestId": "0b6d6c8e-2c5f-4c8e-9d2b-6a0b9d1c8e11",
                "functionArn": function,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 3,
            },
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-11-26T23:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": "2026-11-26T22:59:00Z",
                "approximateArrivalOfLastRecord": "2026-11-26T22:59:01Z",
                "batchSize": size,
                "streamArn": arn,
            },
        }
    )


def test_a_failed_batch_is_read_back_and_published_by_the_handlers_code(
    moto, cli, recorder
) -> None:
    arn, shard, records = stream_with_changes(moto, 5)
    consumer = consumer_queue(moto)
    sqs = client(moto, "sqs")
    dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
    failures = sqs.create_queue(QueueName="fanout-on-failure")["QueueUrl"]
    sqs.send_message(QueueUrl=failures, MessageBody=on_failure(arn, shard, *records[1:4:2], 3))
    sqs.send_message(
        QueueUrl=failures,
        MessageBody=on_failure(
            arn, "shardId-00000001764000000000-0badcafe", records[0], records[0], 1
        ),
    )
    sqs.send_message(QueueUrl=failures, MessageBody="{}")
    bad = on_failure(arn, "shard-1", records[0], records[0], 1)
    sqs.send_message(QueueUrl=failures, MessageBody=bad)
    args = ["replay", "--on-failure-queue", failures, "--event-bus", BUS, "--dlq-url", dlq]
    args += ["--stream-arn", arn]

    dry = cli(*args, "--dry-run")
    assert dry.status == 1, dry.err
    assert "would replay 3 records" in dry.out
    assert visible(moto, failures) == 4

    ran = cli(*args)
    assert ran.status == 1, ran.err  # one batch could not be reached: said, and kept
    assert "replayed 3 records from 1 failed batches" in ran.out
    assert "left 2: could not reach (e.g. " in ran.out
    assert "left 1: not an on-failure record (" in ran.out
    events = drain(moto, consumer)
    assert sorted(e["detail"]["eventID"] for e in events) == sorted(
        r["eventID"] for r in records[1:4]
    )
    assert {e["detail-type"] for e in events} == {"INSERT"}
    assert [d["newImage"]["amount"] for d in recorder.details()] == [Decimal(BIG)] * 3
    assert visible(moto, failures) == 3
    assert visible(moto, dlq) == 0


def test_expected_failures_are_one_line(moto, cli) -> None:
    sqs = client(moto, "sqs")
    dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
    failures = sqs.create_queue(QueueName="fanout-on-failure")["QueueUrl"]
    consumer_queue(moto)
    stream = ["--stream-arn", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"]
    for args, says in [
        (["--on-failure-queue", "nope", "--event-bus", BUS, "--dlq-url", dlq], "not an SQS"),
        (["--on-failure-queue", failures, "--event-bus", "gone", "--dlq-url", dlq], "'gone'"),
        (
            ["--on-failure-queue", failures, "--event-bus", BUS, "--dlq-url", "x"],
            "not an SQS queue",
        ),
        (["--on-failure-bucket", "s3://", "--event-bus", BUS, "--dlq-url", dlq], "not a bucket"),
        (["--on-failure-queue", failures, "--event-bus", BUS, "--dlq-url", dlq], "whose records"),
    ]:
        ran = cli("replay", *args, *(stream if says != "whose records" else []))
        assert ran.status == 2, args
        assert says in ran.err and ran.err.count("\n") == 1
