"""The recovery path never loses or mangles a change: redrive, replay and backfill on moto_server.

DLQ messages are written by the handler's own code (its bus missing, its
size caps set as a deployed function's would be); faults are injected into
the CLI's clients only. Each test is one way an operator's bad day could lose
the last copy of a change or publish a wrong one.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import zipfile
from typing import Any

import pytest

from dynamodb_fanout.aws import Aws
from dynamodb_fanout.pipeline import convert_record, make_settings, run_handler
from fanout.claim_check import fetch_full_event
from localrun.moto_stack import MotoServer
from tests.cli.conftest import BUS, client, consumer_queue, drain, visible
from tests.event_schema import assert_valid
from tests.support import streams

FUNCTION = "orders-fanout"
BUCKET = "orders-large-events"
CAP = 65536  # the function's MAX_EVENT_SIZE: its targets take at most 64 KB


def dlq(moto: MotoServer) -> str:
    return client(moto, "sqs").create_queue(QueueName="fanout-dlq")["QueueUrl"]


def park(moto: MotoServer, url: str, records: list[dict[str, Any]], **settings: Any) -> None:
    """The handler itself parks the records (the bus is missing, or they are too large)."""
    config = dataclasses.replace(make_settings(BUS, url), **settings)
    assert run_handler(records, config, Aws(endpoint_url=moto.endpoint).for_handler()) == []


def bodies(moto: MotoServer, url: str) -> list[dict[str, Any]]:
    """The DLQ's bodies, read and made visible again."""
    sqs = client(moto, "sqs")
    out = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]:
        out.append(json.loads(message["Body"]))
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return out


def deploy(moto: MotoServer, **env: str) -> None:
    """The fan-out function as the module deploys it; only its configuration matters here."""
    role = client(moto, "iam").create_role(
        RoleName="fanout",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("fanout/handler.py", "def lambda_handler(event, context):\n    pass\n")
    client(moto, "lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="fanout.handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": env},
    )


def configure(moto: MotoServer, **env: str) -> None:
    client(moto, "lambda").update_function_configuration(
        FunctionName=FUNCTION, Environment={"Variables": env}
    )


def large(seq: int, kilobytes: int = 90) -> dict[str, Any]:
    return streams.insert(seq, payload="p" * (kilobytes * 1024))


def test_an_event_over_the_functions_cap_is_never_published_whole(moto, cli, recorder) -> None:
    url = dlq(moto)
    consumer = consumer_queue(moto)
    park(moto, url, [large(1)], max_event_size=CAP)  # claim-check off: EventTooLarge
    (body,) = bodies(moto, url)
    assert body["reason"] == "EventTooLarge" and "event" in body
    deploy(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP))

    unknown = cli("redrive", "--queue-url", url)
    assert unknown.status == 1
    assert "its size cap is unknown" in unknown.out and "pass --function" in unknown.out
    assert "settings: the module's defaults (no --function)" in unknown.out

    capped = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert capped.status == 1
    assert f"settings: function {FUNCTION}:" in capped.out
    assert f"events under {CAP} bytes, no claim-check bucket" in capped.out
    assert f"must stay under {CAP} bytes (MAX_EVENT_SIZE)" in capped.out
    assert recorder.entries == []  # nothing above the cap went to the bus
    assert visible(moto, url) == 1

    client(moto, "s3").create_bucket(Bucket=BUCKET)
    configure(
        moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP), LARGE_EVENT_BUCKET=BUCKET
    )
    checked = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert checked.status == 0, checked.out
    assert "re-published 1 (EventTooLarge 1)" in checked.out and "claim-checked: 1" in checked.out
    assert all(len(e["Detail"]) < CAP for e in recorder.entries)
    (pointer,) = drain(moto, consumer)
    full = fetch_full_event(pointer, client(moto, "s3"))
    assert full["detail"]["eventID"] == "event-1"
    assert full["detail"]["newImage"]["payload"] == "p" * 90 * 1024
    assert visible(moto, url) == 0


def test_a_pointer_whose_object_expired_is_rebuilt_from_the_record(moto, cli) -> None:
    url = dlq(moto)
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=BUCKET)
    # Claim-checked, but the pointer could not be published (the bus was gone): parked.
    park(moto, url, [large(1), large(2)], max_event_size=CAP, large_event_bucket=BUCKET)
    parked = bodies(moto, url)
    assert all("claimCheck" in json.loads(b["event"]["Detail"]) for b in parked)
    gone = json.loads(parked[0]["event"]["Detail"])["claimCheck"]["key"]
    s3.delete_object(Bucket=BUCKET, Key=gone)  # expired by the bucket's lifecycle rule
    consumer = consumer_queue(moto)
    deploy(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP))  # no bucket now

    unknown = cli("redrive", "--queue-url", url)  # the cap is unknown: not published whole
    assert unknown.status == 1, unknown.out
    assert "too large for the function once; its size cap is unknown: 1" in unknown.out
    assert drain(moto, consumer)[0]["detail"]["claimCheck"]  # the other one: its object is there
    assert visible(moto, url) == 1

    left = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert left.status == 1
    assert "re-published 0" in left.out
    assert "EventTooLarge: 1" in left.out  # rebuilt, over the cap, and no bucket: left
    assert visible(moto, url) == 1

    configure(
        moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP), LARGE_EVENT_BUCKET=BUCKET
    )
    again = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert again.status == 0, again.out
    assert "claim-checked: 1" in again.out
    events = drain(moto, consumer)
    assert len(events) == 1
    for event in events:  # every delivered pointer resolves to its full change
        full = fetch_full_event(event, s3)
        assert full["detail"]["newImage"]["payload"] == "p" * 90 * 1024
    assert visible(moto, url) == 0


def test_from_table_publishes_with_the_functions_source_and_format(moto, cli) -> None:
    dynamodb = client(moto, "dynamodb")
    dynamodb.create_table(
        TableName=streams.TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=streams.TABLE, Item={"pk": {"S": "order-1"}, "n": {"N": "7"}})
    url = dlq(moto)
    park(moto, url, [streams.insert(1, payload="o" * 300_000)], max_event_bytes=200_000)
    consumer = consumer_queue(moto, pattern={"source": ["com.example.orders"]})
    deploy(
        moto,
        EVENT_BUS_NAME=BUS,
        DLQ_URL=url,
        EVENT_SOURCE="com.example.orders",
        DETAIL_FORMAT="raw",
        MAX_EVENT_BYTES="200000",
    )

    ran = cli("redrive", "--queue-url", url, "--from-table", "--function", FUNCTION)
    assert ran.status == 0, ran.out
    (event,) = drain(moto, consumer)  # the rule on the function's source matches
    assert event["source"] == "com.example.orders"
    assert event["detail-type"] == "CURRENT_ITEM"
    detail = event["detail"]
    assert detail["dynamodb"]["NewImage"] == {"pk": {"S": "order-1"}, "n": {"N": "7"}}
    assert "newImage" not in detail  # raw, as the function publishes
    assert detail["eventID"] != "event-1" and detail["redriveOf"]["eventID"] == "event-1"
    assert_valid(event, "raw")


def test_a_record_only_message_is_rebuilt_exactly_remove_included(moto, cli) -> None:
    url = dlq(moto)
    old = {"pk": {"S": "order-1"}, "status": {"S": "NEW"}, "payload": {"S": "a" * 20_000}}
    new = {"pk": {"S": "order-1"}, "status": {"S": "PAID"}, "payload": {"S": "b" * 20_000}}
    modify = streams.record(1, "MODIFY", keys={"pk": {"S": "order-1"}}, new=new, old=old)
    gone = {"pk": {"S": "order-2"}, "payload": {"S": "c" * 40_000}}
    remove = streams.record(2, "REMOVE", keys={"pk": {"S": "order-2"}}, old=gone)
    park(moto, url, [modify, remove], dlq_max_bytes=60_000)  # record + event do not fit
    parked = bodies(moto, url)
    assert all(b["truncated"] and "event" not in b for b in parked)
    assert {b["record"]["eventID"] for b in parked} == {"event-1", "event-2"}
    consumer = consumer_queue(moto)

    unknown = cli("redrive", "--queue-url", url)  # no event in the message: no bus either
    assert unknown.status == 1 and "no event bus known: 2" in unknown.out
    ran = cli("redrive", "--queue-url", url, "--event-bus", BUS)
    assert ran.status == 0, ran.out
    assert "re-published 2 (PutEventsRejected 2)" in ran.out
    assert "rebuilt from the record: 2" in ran.out
    delivered = {e["detail"]["eventID"]: e["detail"] for e in drain(moto, consumer)}
    settings = make_settings(BUS)
    for raw in (modify, remove):
        expected = json.loads(convert_record(0, raw, settings).detail)
        assert delivered[raw["eventID"]] == expected
    assert delivered["event-1"]["changedAttributes"] == ["payload", "status"]
    assert delivered["event-2"]["oldImage"]["payload"] == "c" * 40_000
    assert visible(moto, url) == 0


def test_poison_messages_are_left_untouched_and_the_good_ones_go(moto, cli, recorder) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(4)])
    template = next(b for b in bodies(moto, url) if b["record"]["eventID"] == "event-3")
    sqs = client(moto, "sqs")
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]:
        if json.loads(message["Body"])["record"]["eventID"] == "event-3":
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    poison = []
    for change in ({"Time": "yesterday"}, {"Resources": [5]}, {"Resources": streams.TABLE_ARN}):
        body = {**template, "event": {**template["event"], **change}}
        poison.append(json.dumps(body))
        sqs.send_message(QueueUrl=url, MessageBody=poison[-1])
    consumer = consumer_queue(moto)

    ran = cli("redrive", "--queue-url", url)
    assert ran.status == 1
    assert "re-published 3" in ran.out and "wrong-shaped event: 3" in ran.out
    assert "event.Time 'yesterday' is not an ISO-8601 time" in ran.out
    assert "event.Resources is not a list of strings" in ran.out
    assert sorted(e["detail"]["eventID"] for e in drain(moto, consumer)) == [
        "event-0",
        "event-1",
        "event-2",
    ]
    assert all(len(e["Resources"]) == 1 for e in recorder.entries)
    left = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert sorted(left) == sorted(poison)  # never altered


def test_a_missing_bus_keeps_only_its_own_messages(moto, cli) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(3)])
    park(moto, url, [streams.insert(i) for i in range(3, 5)], event_bus_name="retiredBus")
    consumer = consumer_queue(moto)  # ordersBus is back; retiredBus is not

    ran = cli("redrive", "--queue-url", url)
    assert ran.status == 1
    assert "re-published 3 (PutEventsRejected 3)" in ran.out
    assert "event bus missing: 2" in ran.out and "'retiredBus' does not exist" in ran.out
    assert len(drain(moto, consumer)) == 3
    assert visible(moto, url) == 2


class _RefusingDeletes:
    """An SQS client whose DeleteMessageBatch answers every entry as failed."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict:
        failed = [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries]
        return {"Successful": [], "Failed": failed}


def test_failed_deletes_are_counted_and_exit_1(moto, cli, monkeypatch) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(4)])
    consumer_queue(moto)
    real = Aws.client

    def client_refusing_deletes(self: Aws, service: str, *args: Any, **kwargs: Any) -> Any:
        made = real(self, service, *args, **kwargs)
        return _RefusingDeletes(made) if service == "sqs" else made

    monkeypatch.setattr(Aws, "client", client_refusing_deletes)
    ran = cli("redrive", "--queue-url", url)
    assert ran.status == 1
    assert "re-published 0" in ran.out
    assert "not deleted after publishing 4 (they will be seen again)" in ran.out
    assert "delete " in ran.out and "InternalError" in ran.out
    assert visible(moto, url) == 4  # released: the next pass sees them


def test_ctrl_c_releases_every_held_message(moto, cli, monkeypatch) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(3)])
    consumer_queue(moto)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("dynamodb_fanout.pipeline.send", interrupted)
    ran = cli("redrive", "--queue-url", url)
    assert ran.status == 130
    assert visible(moto, url) == 3


def test_the_region_comes_from_aws_region_too(moto, cli, monkeypatch) -> None:
    url = dlq(moto)  # a local URL: no region in it
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    ran = cli("redrive", "--queue-url", url, "--dry-run")
    assert ran.status == 0, ran.err
    assert "would re-publish 0" in ran.out


def test_backfill_keeps_binary_keys_and_attributes_exactly(moto, cli, recorder) -> None:
    dynamodb = client(moto, "dynamodb")
    dynamodb.create_table(
        TableName="Blobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key, blobs = b"\x00\xffkey\x80", {b"\x01\x02", b"\xfe"}
    dynamodb.put_item(TableName="Blobs", Item={"id": {"B": key}, "parts": {"BS": list(blobs)}})
    consumer_queue(moto)

    ran = cli("backfill", "--table", "Blobs", "--event-bus", BUS, "--quiet", "--segments", "1")
    assert ran.status == 0, ran.err + ran.out
    (detail,) = recorder.details()
    assert base64.b64decode(detail["keys"]["id"]) == key
    assert {base64.b64decode(p) for p in detail["newImage"]["parts"]} == blobs


@pytest.fixture
def failed_batch(moto) -> tuple[str, str]:
    """A table's stream with one large insert, and an on-failure message for that batch."""
    from tests.cli.test_replay import on_failure  # noqa: PLC0415 - the message Lambda sends

    dynamodb = client(moto, "dynamodb")
    table = dynamodb.create_table(
        TableName=streams.TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    dynamodb.put_item(
        TableName=streams.TABLE, Item={"pk": {"S": "order-1"}, "payload": {"S": "q" * 90_000}}
    )
    ddbstreams = client(moto, "dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = ddbstreams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = ddbstreams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    (record,) = ddbstreams.get_records(ShardIterator=iterator)["Records"]
    queue = client(moto, "sqs").create_queue(QueueName="fanout-on-failure")["QueueUrl"]
    client(moto, "sqs").send_message(
        QueueUrl=queue, MessageBody=on_failure(arn, shard, record, record, 1)
    )
    return queue, dlq(moto)


def test_replay_claim_checks_as_the_function_does(moto, cli, failed_batch) -> None:
    queue, url = failed_batch
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=BUCKET)
    consumer = consumer_queue(moto)
    deploy(
        moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP), LARGE_EVENT_BUCKET=BUCKET
    )

    ran = cli("replay", "--on-failure-queue", queue, "--function", FUNCTION)
    assert ran.status == 0, ran.out + ran.err
    assert f"settings: function {FUNCTION}:" in ran.out
    (pointer,) = drain(moto, consumer)
    assert "claimCheck" in pointer["detail"]
    full = fetch_full_event(pointer, s3)
    assert full["detail"]["newImage"]["payload"] == "q" * 90_000
    assert visible(moto, url) == 0  # claim-checked, not parked
    assert visible(moto, queue) == 0


def test_an_unknown_function_is_one_line_and_exit_2(moto, cli) -> None:
    ran = cli("redrive", "--queue-url", dlq(moto), "--function", "nope")
    assert ran.status == 2
    assert "function 'nope' does not exist" in ran.err and ran.err.count("\n") == 1


def test_a_backfill_record_of_a_binary_key_is_built_not_refused() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from dynamodb_fanout.backfill import Table, stream_record  # noqa: PLC0415

    table = Table(
        "Blobs", "arn:aws:dynamodb:us-east-1:123456789012:table/Blobs", "us-east-1", ["id"], 1
    )
    item = {"id": {"B": b"\x00\xff"}, "parts": {"BS": [b"\x01"]}}
    record = stream_record(item, table, "run", datetime.now(UTC))
    entry = convert_record(0, record, make_settings(BUS))
    assert json.loads(entry.detail)["keys"] == {"id": "AP8="}
    assert record["eventID"].startswith("backfill-run-")


def test_explicit_options_override_the_functions_settings(moto, cli) -> None:
    url = dlq(moto)
    deploy(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP), DETAIL_FORMAT="raw")
    ran = cli("redrive", "--queue-url", url, "--function", FUNCTION, "--max-event-size", "2048")
    assert ran.status == 0, ran.out
    assert ran.out.startswith(
        f"settings: function {FUNCTION} with --max-event-size: source dynamodb.<table>, "
        "detail format raw, events under 2048 bytes, no claim-check bucket"
    )
    configure(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, DETAIL_FORMAT="xml")
    bad = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert bad.status == 2
    assert f"function '{FUNCTION}': invalid configuration: DETAIL_FORMAT='xml'" in bad.err
