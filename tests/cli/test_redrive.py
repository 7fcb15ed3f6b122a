"""`dynamodb-fanout redrive` against moto_server: what is re-published, what stays, and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from dynamodb_fanout.aws import Aws
from dynamodb_fanout.main import parser
from dynamodb_fanout.redrive import run
from tests.cli.conftest import BUS, client, consumer_queue, dlq, drain, park, visible
from tests.event_schema import assert_valid
from tests.support import streams

BIG = "12345678901234567890123456789012345678"  # 38 digits, more than a float holds
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCOPE = ("--stream-arn", streams.TABLE_ARN)  # the records of tests/support/streams


def test_parked_events_reach_the_bus_once_it_is_back_and_the_rest_stays(
    moto, cli, recorder
) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i, amount={"N": BIG}) for i in range(3)])
    park(moto, url, [{"eventName": "INSERT"}])  # malformed: no event to re-publish
    sqs = client(moto, "sqs")
    sqs.send_message(QueueUrl=url, MessageBody="not json at all")
    sqs.send_message(QueueUrl=url, MessageBody='{"hello": "world"}')
    assert visible(moto, url) == 6
    args = ("redrive", "--queue-url", url, *SCOPE, "--event-bus", BUS)

    missing = f"event bus '{BUS}' does not exist in us-east-1: create it again"
    gone = cli(*args)  # the cause is not fixed yet: nothing moves
    assert gone.status == 2, gone.err
    assert missing in gone.err
    assert "Traceback" not in gone.err and gone.err.count("\n") == 1
    assert visible(moto, url) == 6
    dry = cli(*args, "--dry-run")  # but a dry run says what is there, and why it would stay
    assert dry.status == 1, dry.err
    assert "would re-publish 0" in dry.out and f"left 3: {missing}" in dry.out
    assert visible(moto, url) == 6

    consumer = consumer_queue(moto)  # the bus is back, with its rule
    ran = cli(*args)
    assert ran.status == 1, ran.err  # three are left: exit 1 says so
    assert "re-published 3 (PutEventsRejected 3)" in ran.out
    assert "failed again 0" in ran.out
    for why in (
        "left 1: not JSON (",
        "left 1: not a fan-out message (",
        "left 1: names no table: eventSourceARN None (",  # the malformed record
    ):
        assert why in ran.out
    events = drain(moto, consumer)
    assert sorted(e["detail"]["eventID"] for e in events) == ["event-0", "event-1", "event-2"]
    assert [d["newImage"]["amount"] for d in recorder.details()] == [Decimal(BIG)] * 3
    assert visible(moto, url) == 3


def test_repeated_notes_are_grouped_and_json_is_one_document(moto, cli) -> None:
    url = dlq(moto)
    sqs = client(moto, "sqs")
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=f"not json {i}")
    park(moto, url, [streams.insert(1)])
    consumer_queue(moto)
    args = ("redrive", "--queue-url", url, *SCOPE, "--event-bus", BUS, "--dry-run")

    ran = cli(*args)
    assert ran.status == 1
    (line,) = [line for line in ran.out.splitlines() if "not JSON" in line]
    assert line.startswith("  left 12: not JSON (e.g. ")
    assert "would re-publish 1 (PutEventsRejected 1)" in ran.out
    progress = ran.err.splitlines()  # on stderr: at the start, and when the pass ends
    assert progress[0].startswith("redrive [") and progress[-1].startswith("redrive [")

    as_json = cli(*args, "--json", "--quiet")
    assert as_json.status == 1 and as_json.err == ""
    summary = json.loads(as_json.out)
    assert summary["republished"] == {
        "total": 1,
        "by_reason": {"PutEventsRejected": 1},
        "how": {"rebuilt from the record": 1},
    }
    assert summary["left"] == 12 and summary["exit_status"] == 1 and summary["dry_run"]
    (note,) = summary["notes"]
    assert (note["kind"], note["why"], note["count"]) == ("left", "not JSON", 12)


def test_region_comes_from_the_queue_url(moto, cli, monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    local_url = dlq(moto, region="eu-west-1")
    name = local_url.rsplit("/", 2)
    aws_url = f"https://sqs.eu-west-1.amazonaws.com/{name[-2]}/{name[-1]}"
    client(moto, "sqs", "eu-west-1").send_message(QueueUrl=local_url, MessageBody="x")
    client(moto, "events", "eu-west-1").create_event_bus(Name=BUS)
    bus = ("--event-bus", f"arn:aws:events:eu-west-1:123456789012:event-bus/{BUS}")

    ran = cli("redrive", "--queue-url", aws_url, *SCOPE, *bus, "--dry-run")
    assert ran.status == 1, ran.err  # the message would be left
    assert "left 1: not JSON (" in ran.out

    no_region = cli("redrive", "--queue-url", local_url, *SCOPE, *bus, "--dry-run")
    assert no_region.status == 2
    assert "no AWS region: pass --region" in no_region.err


class NoResults:
    """PutEvents answering HTTP 200 with an empty result per entry (no EventId, no ErrorCode)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.meta = real.meta

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{} for _ in Entries]}


def test_a_result_without_event_id_is_not_success(moto, capsys) -> None:
    url = dlq(moto)
    park(moto, url, [streams.insert(i) for i in range(2)])
    consumer_queue(moto)

    class Faulty(Aws):
        def client(self, service: str, region=None, config=None, purpose="standard") -> Any:
            real = super().client(service, region, config, purpose)
            return NoResults(real) if purpose == "publish" else real

    argv = ["redrive", "--queue-url", url, *SCOPE, "--event-bus", BUS, "--json", "--quiet"]
    assert run(Faulty(endpoint_url=moto.endpoint), parser().parse_args(argv)) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["republished"]["total"] == 0 and summary["failed_again"] == 2
    (note,) = summary["notes"]
    assert note["kind"] == "failed again" and note["why"].startswith("MissingResult")
    assert note["count"] == 2
    assert visible(moto, url) == 2  # kept, and visible again at once


def test_truncated_messages_are_rebuilt_from_the_table(moto, cli) -> None:
    dynamodb = client(moto, "dynamodb")
    dynamodb.create_table(
        TableName=streams.TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName=streams.TABLE,
        Item={"pk": {"S": "order-1"}, "status": {"S": "PAID"}, "amount": {"N": BIG}},
    )
    url = dlq(moto)
    big = [streams.insert(i, payload="o" * 300_000) for i in (1, 2)]  # order-2 is not in the table
    park(moto, url, big, max_event_bytes=200_000)
    consumer = consumer_queue(moto)

    args = ("redrive", "--queue-url", url, *SCOPE, "--event-bus", BUS)
    plain = cli(*args)
    assert plain.status == 1
    assert "left 2: EventTooLarge, record incomplete: see --from-table (e.g. " in plain.out

    unknown = cli(*args, "--from-table", "--max-event-bytes", "200000")
    assert unknown.status == 1  # the function's source and format are not known
    assert "EventTooLarge, record incomplete: pass --function, or --source and " in unknown.out

    how = ("--source", "dynamodb.Orders", "--detail-format", "plain")
    ran = cli(*args, "--from-table", "--max-event-bytes", "200000", *how)
    assert ran.status == 1, ran.err  # order-2 is left: exit 1
    assert "re-published 1 (EventTooLarge 1)" in ran.out
    assert "current item from the table: 1" in ran.out
    assert "left 1: EventTooLarge, item no longer in Orders (" in ran.out
    (event,) = drain(moto, consumer)
    assert event["detail-type"] == "CURRENT_ITEM"  # never under the parked change's identity
    detail = event["detail"]
    assert detail["eventID"].startswith("redrive-") and detail["eventID"] != "event-1"
    assert detail["redriveOf"] == {
        "eventID": "event-1",
        "eventName": "INSERT",
        "sequenceNumber": big[0]["dynamodb"]["SequenceNumber"],
        "reason": "EventTooLarge",
    }
    assert detail["newImage"]["status"] == "PAID"
    assert_valid(event, "plain")
    assert detail["keys"] == {"pk": "order-1"}
    assert visible(moto, url) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--queue-url", "sqs/fanout-dlq"], "is not an SQS queue URL"),
        (
            ["--queue-url", "QUEUE/000000000000/nope", *SCOPE, "--event-bus", BUS],
            "QueueDoesNotExist",
        ),
        (
            ["--queue-url", "QUEUE", *SCOPE, "--event-bus", "nope"],
            "event bus 'nope' does not exist",
        ),
        (["--queue-url", "QUEUE", *SCOPE], "no event bus: pass --event-bus, or --function"),
        (
            ["--queue-url", "QUEUE", "--stream-arn", "orders", "--event-bus", BUS],
            "--stream-arn 'orders' is neither a DynamoDB stream ARN nor a table ARN",
        ),
    ],
)
def test_expected_failures_are_one_line_and_exit_2(moto, cli, args, says) -> None:
    url = dlq(moto)
    args = [
        a.replace("QUEUE", url.rsplit("/", 2)[0] if a.startswith("QUEUE/") else url) for a in args
    ]
    ran = cli("redrive", *args)
    assert ran.status == 2
    assert says in ran.err
    assert ran.err.count("\n") == 1 and "Traceback" not in ran.err


def test_missing_credentials_are_one_line_from_the_console(moto, tmp_path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("PYTHONPATH",)
    }
    env.update(
        PYTHONPATH=os.pathsep.join([f"{REPO}/cli", f"{REPO}/lambda_src"]),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    url = dlq(moto)
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamodb_fanout",
            "--endpoint-url",
            moto.endpoint,
            "redrive",
            "--queue-url",
            url,
            *SCOPE,
            "--event-bus",
            BUS,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stderr.startswith("dynamodb-fanout: error: no AWS credentials found")
    assert ran.stderr.count("\n") == 1
