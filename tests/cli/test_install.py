"""`pip install .` in a clean virtual environment gives a working `dynamodb-fanout`, and the
installed command publishes only what the function would publish for its own table.

The wheel carries the CLI and the handler's package and depends on boto3
only. Installed, its backfill puts a table's 60 items on the bus with every
digit of their 38-digit numbers; its redrive and replay recover the
function's own parked changes and failed batches, and leave, with a line and
exit status 1, what another table or another function put in the function's
queues or bucket: a forged DLQ message naming another table, bus and source,
another function's on-failure batches and S3 objects. One environment serves
every test of this file (installing costs tens of seconds). Without moto (the
local extra), check-pattern with no AWS account says how to get one or the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dynamodb_fanout.moto_stack import DUMMY_CREDENTIALS
from dynamodb_fanout.stream_reader import to_lambda_record
from tests.cli.conftest import (
    ACCOUNT,
    BUS,
    FUNCTION,
    REGION,
    client,
    consumer_queue,
    deploy,
    dlq,
    drain,
    of_stream,
    park,
    table_arn,
    table_with_stream,
    visible,
)
from tests.cli.test_backfill import TABLE, amount, table_with_items
from tests.cli.test_replay import on_failure, stream_with_changes
from tests.support import streams

REPO = Path(__file__).resolve().parents[2]
SOURCE = "dynamodb.Orders"  # the function's EVENT_SOURCE, as the module sets it
THEIRS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments-fanout"
FAILED_BATCHES = "orders-failed-batches"
PAID = '{"detail-type":["MODIFY"],"detail":{"newImage":{"status":["PAID"]}}}'


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` into a clean virtual environment: its `dynamodb-fanout`."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    return venv


def operator(venv: Path, endpoint: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command, run as an operator runs it (its own process and environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=REGION)
    return subprocess.run(
        [str(venv / "bin" / "dynamodb-fanout"), "--endpoint-url", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=cwd,
    )


def test_pip_install_gives_a_backfill_that_keeps_every_digit(
    moto, recorder, installed, tmp_path
) -> None:
    listed = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert names - {"pip", "setuptools", "wheel"} <= {
        "dynamodb-stream-fanout",
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
    }

    table_with_items(moto, 60)
    queue = consumer_queue(moto, pattern={"detail-type": ["BACKFILL"]})
    ran = operator(
        installed, recorder.endpoint, "backfill", "--table", TABLE, "--event-bus", BUS,
        cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "60 items scanned in 4 segments, 60 published, 0 dead-lettered" in ran.stdout

    # On the bus: 60 events, every digit (as PutEvents received them) ...
    amounts = sorted(d["newImage"]["amount"] for d in recorder.details())
    assert amounts == [Decimal(amount(i)) for i in range(60)]
    # ... and a rule routes all 60 to a queue (moto rounds the numbers it delivers).
    delivered = drain(moto, queue)
    assert sorted(e["detail"]["keys"]["pk"] for e in delivered) == [
        f"order-{i:05d}" for i in range(60)
    ]


def _body(moto: Any, records: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    """The DLQ body the handler writes for one record (parked through a scratch queue)."""
    scratch = dlq(moto, f"scratch-{uuid.uuid4().hex[:8]}")
    park(moto, scratch, records, **settings)
    (message,) = client(moto, "sqs").receive_message(QueueUrl=scratch)["Messages"]
    return json.loads(message["Body"])


def test_redrive_republishes_only_the_functions_own_changes(
    moto, recorder, installed, tmp_path
) -> None:
    orders = table_with_stream(moto, "Orders")
    payments = table_with_stream(moto, "Payments")
    for table in ("Orders", "Payments"):  # the items --from-table may find
        client(moto, "dynamodb").put_item(
            TableName=table, Item={"pk": {"S": "order-9"}, "status": {"S": "PAID"}}
        )
    url = dlq(moto)
    sqs = client(moto, "sqs")
    # The function's own changes, parked by the handler on every rung of its DLQ body:
    park(moto, url, of_stream([streams.insert(1), streams.insert(2)], orders))  # record + event
    old = {"pk": {"S": "order-3"}, "payload": {"S": "a" * 20_000}}
    new = {"pk": {"S": "order-3"}, "payload": {"S": "b" * 20_000}}
    modify = streams.record(3, "MODIFY", keys={"pk": {"S": "order-3"}}, new=new, old=old)
    park(moto, url, of_stream([modify], orders), dlq_max_bytes=60_000)  # the record only
    large = streams.insert(9, payload="o" * 300_000)
    park(moto, url, of_stream([large], orders), max_event_bytes=200_000)  # keys + metadata
    # Its own change with an event of someone else's choosing (source and bus) ...
    forged = _body(moto, of_stream([streams.insert(4)], orders))
    forged["event"].update(Source="com.example.forged", EventBusName="paymentsBus")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(forged))
    # ... and another table's change, with its bus and source, sent to this DLQ.
    foreign = _body(
        moto, of_stream([streams.insert(7)], payments),
        event_bus_name="paymentsBus", event_source="dynamodb.Payments",
    )  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(foreign))
    cut = _body(moto, of_stream([large], payments), max_event_bytes=200_000)  # --from-table?
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(cut))
    ours = consumer_queue(moto, pattern={"source": [{"prefix": ""}]})
    theirs = consumer_queue(moto, bus="paymentsBus", pattern={"source": [{"prefix": ""}]})
    deploy(moto, orders, EVENT_BUS_NAME=BUS, DLQ_URL=url, EVENT_SOURCE=SOURCE)
    recorder.entries.clear()

    ran = operator(
        installed, recorder.endpoint, "redrive", "--queue-url", url, "--function", FUNCTION,
        "--from-table", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert f"left 2: another table's record: {table_arn(payments)} (e.g. " in ran.stdout
    assert "re-published 5 (EventTooLarge 1, PutEventsRejected 4)" in ran.stdout
    assert "noted 1: the stored event differed in Source; the event rebuilt" in ran.stdout
    assert f"noted 1: parked for bus paymentsBus; sent to {BUS}" in ran.stdout
    # Every event on the wire is the function's: its source, its bus, its table.
    assert {(e["Source"], e["EventBusName"]) for e in recorder.entries} == {(SOURCE, BUS)}
    assert {d["tableName"] for d in recorder.details()} == {"Orders"}
    delivered = {e["detail"]["eventID"]: e for e in drain(moto, ours)}
    current = [e for e in delivered.values() if e["detail-type"] == "CURRENT_ITEM"]
    assert set(delivered) - {e["detail"]["eventID"] for e in current} == {
        "event-1", "event-2", "event-3", "event-4",
    }  # fmt: skip
    assert [e["detail"]["redriveOf"]["eventID"] for e in current] == ["event-9"]
    assert drain(moto, theirs) == []
    assert visible(moto, url) == 2  # the foreign messages stay, untouched


def _object(batch: str, records: list[dict[str, Any]]) -> bytes:
    """An S3 on-failure destination object: the SQS document plus the invocation's records."""
    document = json.loads(batch)
    document["payload"] = json.dumps({"Records": records})
    return json.dumps(document).encode()


def test_replay_recovers_the_functions_batches_only(moto, recorder, installed, tmp_path) -> None:
    orders, shard, records = stream_with_changes(moto, 3, "Orders")
    payments, their_shard, read = stream_with_changes(moto, 2, "Payments")
    their_records = [to_lambda_record(r, payments) for r in read]
    sqs = client(moto, "sqs")
    url = dlq(moto)
    queue = sqs.create_queue(QueueName="orders-on-failure")["QueueUrl"]
    for body in (
        on_failure(orders, shard, records[0], records[2], 3),  # the function's own
        on_failure(payments, their_shard, their_records[0], their_records[1], 2, THEIRS),
        on_failure(payments, their_shard, their_records[0], their_records[1], 2),  # its stream?
    ):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    consumer = consumer_queue(moto, pattern={"source": [{"prefix": ""}]})
    deploy(moto, orders, EVENT_BUS_NAME=BUS, DLQ_URL=url, EVENT_SOURCE=SOURCE)
    (mapping,) = client(moto, "lambda").list_event_source_mappings(FunctionName=FUNCTION)[
        "EventSourceMappings"
    ]
    # Past the stream's 24 hours, the S3 destination still holds a batch with its records.
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=FAILED_BATCHES)
    kept = [of_stream([streams.insert(i)], orders)[0] for i in (100, 101)]
    prefix = f"aws/lambda/{mapping['UUID']}/{shard}/2026/11/26/"
    objects = {
        "ours": (on_failure(orders, shard, kept[0], kept[1], 2), kept),
        "theirs": (on_failure(payments, their_shard, *their_records, 2, THEIRS), their_records),
        "forged": (on_failure(orders, shard, kept[0], kept[1], 2), their_records),
    }
    for name, (batch, payload) in objects.items():
        key = f"{prefix}2026-11-26T23.00.00-{name}"
        s3.put_object(Bucket=FAILED_BATCHES, Key=key, Body=_object(batch, payload))
    as_operator = ("--function", FUNCTION)

    ran = operator(
        installed, recorder.endpoint, "replay", "--on-failure-queue", queue, *as_operator,
        cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "replayed 3 records from 1 failed batches" in ran.stdout
    assert f"left 1: another function's batch: requestContext.functionArn {THEIRS} (" in ran.stdout
    assert f"left 1: another table's batch: {table_arn(payments)} (" in ran.stdout
    assert visible(moto, queue) == 2

    recorder.requests.clear()
    from_s3 = operator(
        installed, recorder.endpoint, "replay", "--on-failure-bucket", f"s3://{FAILED_BATCHES}",
        *as_operator, "--json", cwd=tmp_path,
    )  # fmt: skip
    assert from_s3.returncode == 1, from_s3.stdout + from_s3.stderr
    summary = json.loads(from_s3.stdout)
    assert (summary["records"], summary["batches_replayed"], summary["left"]) == (2, 1, 2)
    assert {n["why"].split(":")[0] for n in summary["notes"]} == {
        "another function's batch",
        "payload does not match its batch",
    }
    assert recorder.s3() and all(
        r.headers.get("x-amz-expected-bucket-owner") == ACCOUNT for r in recorder.s3()
    )
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=FAILED_BATCHES)["Contents"]}
    ours = f"{prefix}2026-11-26T23.00.00-ours"
    assert ours in keys and f"dynamodb-fanout/replayed/{ours}" in keys  # kept, and marked

    again = operator(
        installed, recorder.endpoint, "replay", "--on-failure-bucket", FAILED_BATCHES,
        *as_operator, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 1
    assert "replayed 0 records" in again.stdout
    assert "already replayed (a marker under dynamodb-fanout/replayed/): 1" in again.stdout

    events = drain(moto, consumer)
    assert sorted(e["detail"]["eventID"] for e in events) == sorted(
        [r["eventID"] for r in records] + ["event-100", "event-101"]
    )
    assert {e["source"] for e in events} == {SOURCE}
    assert {e["detail"]["tableName"] for e in events} == {"Orders"}

    other = operator(
        installed, recorder.endpoint, "backfill", "--table", "Payments", *as_operator,
        cwd=tmp_path,
    )  # fmt: skip
    assert other.returncode == 2
    assert f"table {table_arn(payments)} is not the function's" in other.stderr
    assert drain(moto, consumer) == []


def test_check_pattern_without_an_account_or_moto_says_how(installed, tmp_path) -> None:
    """The base install has no moto: with no credentials and no endpoint, one line says what
    check-pattern needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")
    ran = subprocess.run(
        [str(installed / "bin" / "dynamodb-fanout"), "check-pattern", "--pattern", PAID],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert ran.stderr == (
        "dynamodb-fanout: error: check-pattern needs EventBridge: pass --endpoint-url/--region "
        "(with AWS credentials), or install the local extra to use a private moto_server: "
        'pip install "dynamodb-stream-fanout[local]"\n'
    )
