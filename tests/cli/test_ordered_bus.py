"""redrive, backfill and replay publish to the new custom event bus (event-busv2) in per-item order.

moto does not serve eventbridgev2, so the recorder in front of moto_server
sends those requests to the fake endpoint of tests/support/http_bus_v2.py,
which speaks smithy-rpc-v2-cbor over HTTP and keeps, per event group, the
DeduplicationIds in the order it accepted them. Everything else is moto.
"""

from __future__ import annotations

import json

from fanout import REJECTED, DeadLetter, DeadLetterQueue, Settings, convert, decode
from tests.cli.conftest import (
    FUNCTION,
    client,
    deploy,
    dlq,
    of_stream,
    table_with_stream,
    visible,
)
from tests.cli.test_replay import on_failure, read_stream
from tests.support import streams
from tests.support.http_bus_v2 import fake_bus
from tests.support.runtimes import BUS_V2


def change(seq: int, item: int) -> dict:
    """A MODIFY of item ``item`` on a NEW_IMAGE stream; ``seq`` orders the stream."""
    keys = {"pk": {"S": f"item-{item}"}}
    new = {**keys, "n": {"N": str(seq)}}
    return streams.record(seq, "MODIFY", keys=keys, new=new, view_type="NEW_IMAGE")


def test_redrive_keeps_each_items_order_and_its_deduplication_id(moto, cli, recorder) -> None:
    orders = table_with_stream(moto)
    url = dlq(moto)
    # Three items, three changes each, parked by the handler's own writer in reverse order
    # (a standard queue hands them out in any order anyway).
    changes = of_stream([change(seq, item=seq % 3) for seq in range(1, 10)], orders)
    settings = Settings(event_bus_name=BUS_V2, dlq_url=url)
    letters = [
        DeadLetter(
            i, raw, REJECTED, "InternalException: down", 3, convert(decode(i, raw), settings)
        )
        for i, raw in enumerate(changes)
    ]
    queue = DeadLetterQueue(client(moto, "sqs"), url, 262_144, BUS_V2)
    for letter in reversed(letters):
        assert queue.send([letter]).parked
    deploy(moto, orders, EVENT_BUS_NAME=BUS_V2, DLQ_URL=url)

    with fake_bus() as (endpoint, bus):
        recorder.v2_target = endpoint
        ran = cli("redrive", "--queue-url", url, "--function", FUNCTION)
        assert ran.status == 0, ran.out + ran.err
        assert "re-published 9 (PutEventsRejected 9)" in ran.out
        assert visible(moto, url) == 0
        for ids in bus.log.values():  # per group, as accepted: the stream's order
            assert ids == sorted(ids, key=lambda i: int(i.split("-")[1]))
        accepted = [i for ids in bus.log.values() for i in ids]
        assert sorted(accepted) == sorted(r["eventID"] for r in changes)  # DeduplicationId
        groups = {e["SystemMetadata"]["EventGroupId"] for r in bus.requests for e in r["Entries"]}
        assert all(g.startswith("Orders#") for g in groups) and len(groups) == 3

        # Parked again (say, a copy left behind): the bus recognises every repeat.
        for letter in letters:
            queue.send([letter])
        again = cli("redrive", "--queue-url", url, "--function", FUNCTION)
        assert again.status == 0 and "re-published 9" in again.out
        assert sum(len(ids) for ids in bus.log.values()) == 9  # nothing accepted twice


def test_backfill_and_replay_publish_to_it_through_the_engine(moto, cli, recorder) -> None:
    orders = table_with_stream(moto)
    dynamodb = client(moto, "dynamodb")
    for i in range(3):
        dynamodb.put_item(TableName="Orders", Item={"pk": {"S": f"order-{i}"}})
    shard, records = read_stream(moto, orders)
    failures = client(moto, "sqs").create_queue(QueueName="on-failure")["QueueUrl"]
    body = on_failure(orders, shard, records[0], records[-1], len(records))
    client(moto, "sqs").send_message(QueueUrl=failures, MessageBody=body)
    url = dlq(moto)
    deploy(moto, orders, EVENT_BUS_NAME=BUS_V2, DLQ_URL=url)

    with fake_bus() as (endpoint, bus):
        recorder.v2_target = endpoint
        backfill = cli("backfill", "--table", "Orders", "--function", FUNCTION, "--quiet")
        assert backfill.status == 0, backfill.out + backfill.err
        assert "3 published, 0 dead-lettered" in backfill.out
        replay = cli("replay", "--on-failure-queue", failures, "--function", FUNCTION)
        assert replay.status == 0, replay.out + replay.err
        assert "replayed 3 records from 1 failed batches" in replay.out
    entries = [e for request in bus.requests for e in request["Entries"]]
    assert [e["DetailType"] for e in entries] == ["BACKFILL"] * 3 + ["INSERT"] * 3
    dedup = [e["SystemMetadata"]["DeduplicationId"] for e in entries]
    assert all(d.startswith("backfill-") for d in dedup[:3])
    assert dedup[3:] == [r["eventID"] for r in records]  # the original eventID
    assert {json.loads(e["Detail"])["tableName"] for e in entries} == {"Orders"}
    assert visible(moto, url) == 0 and visible(moto, failures) == 0


def test_replay_holds_back_a_later_batch_behind_one_reported_back(moto, cli, recorder) -> None:
    orders = table_with_stream(moto)
    for n in range(4):  # four changes of one item
        item = {"pk": {"S": "order-1"}, "n": {"N": str(n)}}
        client(moto, "dynamodb").put_item(TableName="Orders", Item=item)
    shard, records = read_stream(moto, orders)
    failures = client(moto, "sqs").create_queue(QueueName="on-failure")["QueueUrl"]
    for first, last in ((2, 3), (0, 1)):  # the later batch first: the pass sorts them
        body = on_failure(orders, shard, records[first], records[last], 2)
        client(moto, "sqs").send_message(QueueUrl=failures, MessageBody=body)
    url = dlq(moto)
    deploy(moto, orders, EVENT_BUS_NAME=BUS_V2, DLQ_URL=url)

    with fake_bus(["throttle"] * 3) as (endpoint, bus):  # the first batch cannot be published
        recorder.v2_target = endpoint
        ran = cli("replay", "--on-failure-queue", failures, "--function", FUNCTION)
    assert ran.status == 1, ran.out + ran.err
    assert "reported back by the handler (from the first record neither published" in ran.out
    assert "parked): 2" in ran.out
    assert "left 1: held back behind an earlier batch of its stream" in ran.out
    sent = {e["SystemMetadata"]["DeduplicationId"] for r in bus.requests for e in r["Entries"]}
    assert sent == {records[0]["eventID"]}  # the later changes of the item were never sent
    assert bus.log == {} and visible(moto, failures) == 2
