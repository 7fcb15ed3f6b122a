"""The recovery path never loses or mangles a change: redrive, replay and backfill on moto_server.

DLQ messages are written by the handler's own code (its bus missing, its
size caps set as a deployed function's would be); faults are injected into
the CLI's clients only. Each test is one way an operator's bad day could lose
the last copy of a change or publish a wrong one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dynamodb_fanout.aws import Aws
from dynamodb_fanout.moto_stack import MotoServer
from fanout import Settings, convert, decode, fetch_full_event
from tests.cli.conftest import (
    BUS,
    FUNCTION,
    client,
    configure,
    consumer_queue,
    deploy,
    dlq,
    drain,
    of_stream,
    park,
    table_with_stream,
    visible,
)
from tests.event_schema import assert_valid
from tests.support import streams

BUCKET = "orders-large-events"
CAP = 65536  # the function's MAX_EVENT_SIZE: its targets take at most 64 KB
SOURCE = "dynamodb.Orders"  # the module sets EVENT_SOURCE
TABLE_ARN = streams.TABLE_ARN  # the records of tests/support/streams name this table


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


def large(seq: int, kilobytes: int = 90) -> dict[str, Any]:
    return streams.insert(seq, payload="p" * (kilobytes * 1024))


def test_an_event_over_the_functions_cap_is_never_published_whole(moto, cli, recorder) -> None:
    url = dlq(moto)
    stream = table_with_stream(moto)
    consumer = consumer_queue(moto)
    park(moto, url, of_stream([large(1)], stream), max_event_size=CAP)  # no claim-check
    (body,) = bodies(moto, url)
    assert body["reason"] == "EventTooLarge" and "event" in body
    deploy(moto, stream, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE=str(CAP))

    unknown = cli("redrive", "--queue-url", url, "--stream-arn", stream, "--event-bus", BUS)
    assert unknown.status == 1
    assert "its size cap is unknown" in unknown.out and "pass --function" in unknown.out
    assert "settings: the module's defaults with --event-bus (no --function)" in unknown.out

    capped = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert capped.status == 1
    assert f"settings: function {FUNCTION}:" in capped.out
    assert f"events under {CAP} bytes, no claim-check bucket" in capped.out
    assert f"must stay under {CAP} bytes (MAX_EVENT_SIZE)" in capped.out
    assert recorder.entries == []  # nothing above the cap went to the bus
    assert visible(moto, url) == 1

    client(moto, "s3").create_bucket(Bucket=BUCKET)
    env = {"EVENT_BUS_NAME": BUS, "DLQ_URL": url, "MAX_EVENT_SIZE": str(CAP)}
    configure(moto, **env, LARGE_EVENT_BUCKET=BUCKET)
    checked = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert checked.status == 0, checked.out
    assert "re-published 1 (EventTooLarge 1)" in checked.out and "claim-checked: 1" in checked.out
    assert all(len(e["Detail"]) < CAP for e in recorder.entries)
    (pointer,) = drain(moto, consumer)
    full = fetch_full_event(pointer, client(moto, "s3"))
    assert full["detail"]["eventID"] == "event-1"
    assert full["detail"]["newImage"]["payload"] == "p" * 90 * 1024
    assert visible(moto, url) == 0


def test_a_parked_pointer_is_claim_checked_again_from_the_record(moto, cli, recorder) -> None:
    """The old pointer is never re-published: its object may expire (or be gone) while the
    DLQ message, the change's last complete copy, would be deleted. The change is rebuilt
    from the record and stored again, in the function's bucket, before the message goes."""
    url = dlq(moto)
    stream = table_with_stream(moto)
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=BUCKET)
    # Claim-checked, but the pointers could not be published (the bus was gone): parked.
    records = of_stream([large(1), large(2)], stream)
    park(moto, url, records, max_event_size=CAP, large_event_bucket=BUCKET)
    parked = bodies(moto, url)
    keys = [json.loads(b["event"]["Detail"])["claimCheck"]["key"] for b in parked]
    s3.delete_object(Bucket=BUCKET, Key=keys[0])  # expired by the bucket's lifecycle rule
    s3.put_object(Bucket=BUCKET, Key=keys[1], Body=b'{"about to": "expire"}')
    consumer = consumer_queue(moto)
    env = {"EVENT_BUS_NAME": BUS, "DLQ_URL": url, "MAX_EVENT_SIZE": str(CAP)}
    deploy(moto, stream, **env)  # no bucket now

    left = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert left.status == 1
    assert "re-published 0" in left.out
    assert "left 2: EventTooLarge" in left.out  # rebuilt, over the cap, and no bucket: left
    assert visible(moto, url) == 2 and recorder.entries == []

    configure(moto, **env, LARGE_EVENT_BUCKET=BUCKET)
    recorder.requests.clear()
    again = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert again.status == 0, again.out
    assert "re-published 2 (PutEventsRejected 2)" in again.out and "claim-checked: 2" in again.out
    stored = {r.path.split("?")[0] for r in recorder.s3() if r.method == "PUT"}
    assert stored == {f"/{BUCKET}/{key}" for key in keys}  # both stored again, fresh
    assert all(
        r.headers.get("x-amz-expected-bucket-owner") == "123456789012" for r in recorder.s3()
    )
    events = drain(moto, consumer)
    assert len(events) == 2
    for event in events:  # every delivered pointer resolves to its full change
        full = fetch_full_event(event, s3)
        assert full["detail"]["newImage"]["payload"] == "p" * 90 * 1024
    assert visible(moto, url) == 0


def test_from_table_reads_the_functions_table_with_its_source_and_format(moto, cli) -> None:
    stream = table_with_stream(moto, streams.TABLE)
    dynamodb = client(moto, "dynamodb")
    dynamodb.put_item(TableName=streams.TABLE, Item={"pk": {"S": "order-1"}, "n": {"N": "7"}})
    url = dlq(moto)
    park(
        moto, url, of_stream([streams.insert(1, payload="o" * 300_000)], stream),
        max_event_bytes=200_000,
    )  # fmt: skip
    consumer = consumer_queue(moto, pattern={"source": ["com.example.orders"]})
    deploy(
        moto,
        stream,
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


def test_a_record_only_message_is_rebuilt_only_when_the_source_is_known(moto, cli) -> None:
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
    consumer = consumer_queue(moto, pattern={"source": ["com.example.orders"]})
    scope = ("--queue-url", url, "--stream-arn", TABLE_ARN, "--event-bus", BUS)

    # No --function: the function's source is not known, so the module's default
    # (dynamodb.Orders) would reach no rule. Left, with the way out, not deleted.
    guessed = cli("redrive", *scope)
    assert guessed.status == 1, guessed.out
    assert "re-published 0" in guessed.out
    assert (
        "left 2: record only: how the function builds its events is unknown: pass --function, "
        "or --source and --detail-format as the function's (e.g. "
    ) in guessed.out
    assert visible(moto, url) == 2

    ran = cli("redrive", *scope, "--source", "com.example.orders", "--detail-format", "plain")
    assert ran.status == 0, ran.out
    assert "re-published 2 (PutEventsRejected 2)" in ran.out
    assert "rebuilt from the record: 2" in ran.out
    delivered = {e["detail"]["eventID"]: e["detail"] for e in drain(moto, consumer)}
    settings = Settings(event_bus_name=BUS, dlq_url="", event_source="com.example.orders")
    for raw in (modify, remove):
        expected = json.loads(convert(decode(0, raw), settings).detail)
        assert delivered[raw["eventID"]] == expected
    assert delivered["event-1"]["changedAttributes"] == ["payload", "status"]
    assert delivered["event-2"]["oldImage"]["payload"] == "c" * 40_000
    assert visible(moto, url) == 0


def test_without_the_function_a_stored_event_that_differs_is_left(moto, cli, recorder) -> None:
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
    for change in ({"Time": "yesterday"}, {"Resources": [5]}, {"Source": "com.example.evil"}):
        body = {**template, "event": {**template["event"], **change}}
        poison.append(json.dumps(body))
        sqs.send_message(QueueUrl=url, MessageBody=poison[-1])
    consumer = consumer_queue(moto)

    ran = cli("redrive", "--queue-url", url, "--stream-arn", TABLE_ARN, "--event-bus", BUS)
    assert ran.status == 1
    assert "re-published 3" in ran.out
    for field in ("Time", "Resources", "Source"):
        assert f"the stored event differs from the one rebuilt with these settings in {field}:" in (
            ran.out
        )
    assert sorted(e["detail"]["eventID"] for e in drain(moto, consumer)) == [
        "event-0",
        "event-1",
        "event-2",
    ]
    assert {e["Source"] for e in recorder.entries} == {"dynamodb.Orders"}
    left = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert sorted(left) == sorted(poison)  # never altered


def test_the_bus_is_the_functions_never_the_one_a_message_names(moto, cli, recorder) -> None:
    url = dlq(moto)
    stream = table_with_stream(moto)
    park(moto, url, of_stream([streams.insert(i) for i in range(3)], stream))
    park(moto, url, of_stream([streams.insert(i) for i in range(3, 5)], stream), event_bus_name="x")
    client(moto, "events").create_event_bus(Name="x")  # a bus the operator can reach
    consumer = consumer_queue(moto)
    deploy(moto, stream, EVENT_BUS_NAME=BUS, DLQ_URL=url, EVENT_SOURCE=SOURCE)

    ran = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert ran.status == 0, ran.out
    assert "re-published 5 (PutEventsRejected 5)" in ran.out
    assert f"noted 2: parked for bus x; sent to {BUS}" in ran.out
    assert {e["EventBusName"] for e in recorder.entries} == {BUS}
    assert len(drain(moto, consumer)) == 5


class _Deletes:
    """An SQS client whose DeleteMessageBatch fails every entry, or is interrupted (Ctrl-C)."""

    def __init__(self, real: Any, interrupt: bool) -> None:
        self._real = real
        self._interrupt = interrupt

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict:
        if self._interrupt:
            raise KeyboardInterrupt
        failed = [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries]
        return {"Successful": [], "Failed": failed}


@pytest.mark.parametrize("interrupt", [False, True])
def test_failed_or_interrupted_deletes_keep_every_message(
    moto, cli, monkeypatch, interrupt
) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(4)])
    consumer_queue(moto)
    real = Aws.client

    def client_refusing_deletes(self: Aws, service: str, *args: Any, **kwargs: Any) -> Any:
        made = real(self, service, *args, **kwargs)
        return _Deletes(made, interrupt) if service == "sqs" else made

    monkeypatch.setattr(Aws, "client", client_refusing_deletes)
    ran = cli("redrive", "--queue-url", url, "--stream-arn", TABLE_ARN, "--event-bus", BUS)
    if interrupt:
        assert ran.status == 130
    else:
        assert ran.status == 1
        assert "re-published 0" in ran.out
        assert "not deleted after publishing 4 (they will be seen again)" in ran.out
        assert "  not deleted 4: InternalError (e.g. " in ran.out  # one line, not four
    assert visible(moto, url) == 4  # released: the next pass sees them


def test_the_region_comes_from_aws_region_too(moto, cli, monkeypatch) -> None:
    url = dlq(moto)  # a local URL: no region in it
    consumer_queue(moto)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    scope = ("--stream-arn", TABLE_ARN, "--event-bus", BUS)
    ran = cli("redrive", "--queue-url", url, *scope, "--dry-run")
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


def test_replay_claim_checks_as_the_function_does(moto, cli) -> None:
    from tests.cli.test_replay import on_failure, read_stream  # noqa: PLC0415

    stream = table_with_stream(moto, streams.TABLE)
    client(moto, "dynamodb").put_item(
        TableName=streams.TABLE, Item={"pk": {"S": "order-1"}, "payload": {"S": "q" * 90_000}}
    )
    shard, (record,) = read_stream(moto, stream)
    queue = client(moto, "sqs").create_queue(QueueName="fanout-on-failure")["QueueUrl"]
    client(moto, "sqs").send_message(
        QueueUrl=queue, MessageBody=on_failure(stream, shard, record, record, 1)
    )
    url = dlq(moto)
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=BUCKET)
    consumer = consumer_queue(moto)
    env = {"EVENT_BUS_NAME": BUS, "DLQ_URL": url, "MAX_EVENT_SIZE": str(CAP)}
    deploy(moto, stream, **env, LARGE_EVENT_BUCKET=BUCKET)

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


def test_a_function_without_a_stream_mapping_needs_the_stream_named(moto, cli) -> None:
    url = dlq(moto)
    deploy(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url)  # no event source mapping
    ran = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert ran.status == 2
    assert f"function {FUNCTION} has no DynamoDB stream event source mapping" in ran.err
    assert "pass --stream-arn" in ran.err and ran.err.count("\n") == 1
    nobody = cli("redrive", "--queue-url", url, "--event-bus", BUS)
    assert nobody.status == 2 and "whose records? pass --function" in nobody.err


def test_a_backfill_record_of_a_binary_key_is_built_not_refused() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from dynamodb_fanout.backfill import Table, stream_record  # noqa: PLC0415

    table = Table(
        "Blobs", "arn:aws:dynamodb:us-east-1:123456789012:table/Blobs", "us-east-1", ["id"], 1
    )
    item = {"id": {"B": b"\x00\xff"}, "parts": {"BS": [b"\x01"]}}
    record = stream_record(item, table, "run", datetime.now(UTC))
    entry = convert(decode(0, record), Settings(event_bus_name=BUS, dlq_url=""))
    assert json.loads(entry.detail)["keys"] == {"id": "AP8="}
    assert record["eventID"].startswith("backfill-run-")


def test_explicit_options_override_the_functions_settings(moto, cli) -> None:
    url = dlq(moto)
    stream = table_with_stream(moto)
    consumer_queue(moto)
    env = {"EVENT_BUS_NAME": BUS, "DLQ_URL": url, "MAX_EVENT_SIZE": str(CAP)}
    deploy(moto, stream, **env, DETAIL_FORMAT="raw")
    ran = cli("redrive", "--queue-url", url, "--function", FUNCTION, "--max-event-size", "2048")
    assert ran.status == 0, ran.out
    assert ran.out.startswith(
        f"settings: function {FUNCTION} with --max-event-size: source dynamodb.<table>, "
        "detail format raw, events under 2048 bytes, no claim-check bucket"
    )
    assert f"records of: {stream} (function {FUNCTION}'s event source mapping)" in ran.out
    configure(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, DETAIL_FORMAT="xml")
    bad = cli("redrive", "--queue-url", url, "--function", FUNCTION)
    assert bad.status == 2
    assert f"function '{FUNCTION}': invalid configuration: DETAIL_FORMAT='xml'" in bad.err
