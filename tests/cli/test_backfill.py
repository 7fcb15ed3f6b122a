"""`dynamodb-fanout backfill` against moto_server: every item once, every digit, resumable."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal
from typing import Any

from dynamodb_fanout import backfill
from dynamodb_fanout.aws import Aws
from dynamodb_fanout.backfill import run
from dynamodb_fanout.main import parser
from tests.cli.conftest import BUS, FUNCTION, client, consumer_queue, deploy, drain

TABLE = "Orders"
BASE = 12345678901234567890123456789012345600  # 38 digits


def amount(i: int) -> str:
    return str(BASE + i)


def table_with_items(moto, count: int, pad: int = 0) -> None:
    dynamodb = client(moto, "dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(count):
        item = {"pk": {"S": f"order-{i:05d}"}, "amount": {"N": amount(i)}, "tags": {"SS": ["a"]}}
        if pad:
            item["pad"] = {"S": "p" * pad}
        dynamodb.put_item(TableName=TABLE, Item=item)


def test_every_item_becomes_one_backfill_event_with_every_digit(moto, cli, recorder) -> None:
    table_with_items(moto, 60)
    backfills = consumer_queue(moto, pattern={"detail-type": ["BACKFILL"]})
    ran = cli("backfill", "--table", TABLE, "--event-bus", BUS, "--segments", "3", "--quiet")
    assert ran.status == 0, ran.err
    assert "60 items scanned in 3 segments, 60 published, 0 dead-lettered" in ran.out

    details = recorder.details()
    assert sorted(d["keys"]["pk"] for d in details) == [f"order-{i:05d}" for i in range(60)]
    amounts = sorted(d["newImage"]["amount"] for d in details)
    assert amounts == [Decimal(amount(i)) for i in range(60)]
    assert {e["DetailType"] for e in recorder.entries} == {"BACKFILL"}
    assert {e["Source"] for e in recorder.entries} == {f"dynamodb.{TABLE}"}
    assert details[0]["eventName"] == "INSERT" and details[0]["newImage"]["tags"] == ["a"]
    assert len({d["eventID"] for d in details}) == 60
    assert len(drain(moto, backfills)) == 60  # and the rule that opts in routes them


def test_a_checkpoint_resumes_where_the_run_stopped(
    moto, cli, recorder, tmp_path, monkeypatch
) -> None:
    # Pages of 10 instead of 500: the resumed run still reads several pages and saves
    # the checkpoint after each, with 36 items instead of 1,200 (moto's queue behind
    # the rule slows down as it grows).
    monkeypatch.setattr(backfill, "PAGE_ITEMS", 10)
    table_with_items(moto, 36)
    consumer_queue(moto)
    first_page = client(moto, "dynamodb").scan(
        TableName=TABLE, Segment=0, TotalSegments=1, Limit=10
    )
    checkpoint = tmp_path / "backfill.json"
    arn = client(moto, "dynamodb").describe_table(TableName=TABLE)["Table"]["TableArn"]
    saved = {"table": arn, "segments": 1, "run_id": "r1", "published": 10, "dead_lettered": 0}
    checkpoint.write_text(json.dumps({**saved, "positions": {"0": first_page["LastEvaluatedKey"]}}))

    args = ("backfill", "--table", TABLE, "--event-bus", BUS, "--segments", "1", "--quiet")
    ran = cli(*args, "--checkpoint", str(checkpoint))
    assert ran.status == 0, ran.err
    assert "26 items scanned" in ran.out
    assert "36 published, 0 dead-lettered over all runs" in ran.out
    first = {item["pk"]["S"] for item in first_page["Items"]}
    sent = {d["keys"]["pk"] for d in recorder.details()}
    assert len(sent) == 26 and not sent & first
    assert len(recorder.entries) == 26  # each item once: no page was sent twice
    assert json.loads(checkpoint.read_text())["positions"] == {"0": "done"}

    again = cli(*args, "--checkpoint", str(checkpoint))
    assert again.status == 0 and "already done" in again.out
    as_json = cli(*args, "--checkpoint", str(checkpoint), "--json")
    assert "already done" in json.loads(as_json.out)["already_done"]  # one JSON document
    other = cli(*args[:5], "--segments", "2", "--checkpoint", str(checkpoint))
    assert other.status == 2 and "with 1 segments" in other.err


class Throttled:
    """PutEvents that throttles every entry: AWS's failure, on demand."""

    def __init__(self, real: Any) -> None:
        self.meta = real.meta

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        code = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
        return {"FailedEntryCount": len(Entries), "Entries": [code for _ in Entries]}


def test_failures_are_parked_in_the_handlers_format_and_redrive_takes_them(moto, cli) -> None:
    table_with_items(moto, 12)
    consumer = consumer_queue(moto)
    dlq = client(moto, "sqs").create_queue(QueueName="fanout-dlq")["QueueUrl"]

    class Faulty(Aws):
        def client(self, service: str, region=None, config=None, purpose="standard") -> Any:
            real = super().client(service, region, config, purpose)
            return Throttled(real) if purpose == "publish" else real

    argv = ["backfill", "--table", TABLE, "--event-bus", BUS, "--dlq-url", dlq, "--quiet"]
    assert run(Faulty(endpoint_url=moto.endpoint), parser().parse_args(argv)) == 1
    parked = drain(moto, dlq)
    assert len(parked) == 12
    body = parked[0]
    assert body["reason"] == "RetriesExhausted" and body["attempts"] == 3
    assert body["event"]["DetailType"] == "BACKFILL"
    assert body["record"]["dynamodb"]["NewImage"]["amount"]["N"].startswith("1234567890")
    for message in parked:
        client(moto, "sqs").send_message(QueueUrl=dlq, MessageBody=json.dumps(message))

    arn = client(moto, "dynamodb").describe_table(TableName=TABLE)["Table"]["TableArn"]
    ran = cli("redrive", "--queue-url", dlq, "--stream-arn", arn, "--event-bus", BUS)
    assert ran.status == 0, ran.out
    assert "re-published 12 (RetriesExhausted 12)" in ran.out
    assert len(drain(moto, consumer)) == 12


def test_expected_failures_are_one_line(moto, cli) -> None:
    table_with_items(moto, 1)
    consumer_queue(moto)
    for args, says in [
        (["--table", "Nope", "--event-bus", BUS], "table 'Nope' does not exist in us-east-1"),
        (["--table", TABLE, "--event-bus", "nope"], "event bus 'nope' does not exist"),
        (["--table", TABLE, "--event-bus", BUS, "--detail-type", ""], "--detail-type must be"),
        (
            ["--table", TABLE, "--event-bus", BUS, "--dlq-url", "x"],
            "--dlq-url='x' is not an SQS queue URL",
        ),
    ]:
        ran = cli("backfill", *args)
        assert ran.status == 2, args
        assert says in ran.err and ran.err.count("\n") == 1


class ThrottledItem:
    """PutEvents that throttles, every time, the entry of one item; the rest go to moto."""

    def __init__(self, real: Any, key: str) -> None:
        self.real = real
        self.meta = real.meta
        self.key = key

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        passed = [e for e in Entries if self.key not in e["Detail"]]
        answers = iter(self.real.put_events(Entries=passed)["Entries"] if passed else [])
        throttled = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
        results = [throttled if self.key in e["Detail"] else next(answers) for e in Entries]
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedEntryCount": failed, "Entries": results}


def test_a_page_neither_published_nor_parked_keeps_the_checkpoint_before_it(
    moto, monkeypatch, tmp_path, capsys, request
) -> None:
    monkeypatch.setattr(backfill, "PAGE_ITEMS", 5)
    umask = os.umask(0o022)  # the usual one: a file made without a mode would be 0644
    request.addfinalizer(lambda: os.umask(umask))
    table_with_items(moto, 12)
    consumer_queue(moto)
    dynamodb = client(moto, "dynamodb")
    first = dynamodb.scan(TableName=TABLE, Limit=5)
    second = dynamodb.scan(TableName=TABLE, Limit=5, ExclusiveStartKey=first["LastEvaluatedKey"])
    stuck = second["Items"][2]["pk"]["S"]  # an item of the second page

    class Faulty(Aws):
        def client(self, service: str, region=None, config=None, purpose="standard") -> Any:
            real = super().client(service, region, config, purpose)
            return ThrottledItem(real, stuck) if purpose == "publish" else real

    checkpoint = tmp_path / "backfill.json"
    base = ["backfill", "--table", TABLE, "--event-bus", BUS, "--segments", "1", "--quiet"]
    base += ["--checkpoint", str(checkpoint)]
    nowhere = tmp_path / "missing-directory" / "failures.jsonl"  # the failures cannot be kept
    aws = Faulty(endpoint_url=moto.endpoint)
    assert run(aws, parser().parse_args([*base, "--failures", str(nowhere)])) == 1
    out = capsys.readouterr().out
    assert "neither published nor parked: 1" in out
    assert "segment 0: 1 items of a page neither published nor parked" in out
    saved = json.loads(checkpoint.read_text())
    assert saved["positions"] == {"0": first["LastEvaluatedKey"]}  # before the stuck page
    assert saved["published"] == 5
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600  # it names items' keys

    failures = tmp_path / "failures.jsonl"
    assert run(aws, parser().parse_args([*base, "--failures", str(failures)])) == 1
    out = capsys.readouterr().out
    assert "7 items scanned" in out and "dead-lettered RetriesExhausted: 1" in out
    assert "1 written to" in out and "neither published nor parked" not in out
    assert json.loads(checkpoint.read_text())["positions"] == {"0": "done"}
    (parked,) = [json.loads(line) for line in failures.read_text().splitlines()]
    assert parked["reason"] == "RetriesExhausted"
    assert parked["record"]["dynamodb"]["Keys"] == {"pk": {"S": stuck}}
    assert stat.S_IMODE(failures.stat().st_mode) == 0o600  # it holds the whole item


def test_items_are_parked_under_the_functions_dlq_max_bytes(moto, cli) -> None:
    table_with_items(moto, 2, pad=100_000)  # each event far over the function's cap
    consumer_queue(moto)
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName="fanout-dlq", Attributes={"MaximumMessageSize": "65536"})[
        "QueueUrl"
    ]
    deploy(moto, EVENT_BUS_NAME=BUS, DLQ_URL=url, MAX_EVENT_SIZE="65536", DLQ_MAX_BYTES="65536")
    arn = client(moto, "dynamodb").describe_table(TableName=TABLE)["Table"]["TableArn"]

    ran = cli("backfill", "--table", TABLE, "--function", FUNCTION, "--stream-arn", arn, "--json")
    assert ran.status == 1, ran.out + ran.err
    summary = json.loads(ran.out)  # one JSON document, nothing else on stdout
    assert summary["dead_lettered"] == {"total": 2, "by_reason": {"EventTooLarge": 2}}
    assert summary["written_to_file"] == 0 and summary["exit_status"] == 1
    parked = drain(moto, url)
    assert len(parked) == 2
    assert all(p["reason"] == "EventTooLarge" and p["truncated"] for p in parked)
    assert all(len(json.dumps(p)) <= 65536 for p in parked)
