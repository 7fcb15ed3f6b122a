"""`dynamodb-fanout fetch-event`: a pointer event in, the full event from S3 out (moto_server)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fanout.claim_check import (
    ClaimCheckError,
    fetch_full_event,
    object_key,
    pointer_entry,
    stored_body,
)
from fanout.records import convert, decode
from fanout.settings import Settings
from tests.cli.conftest import client
from tests.support import streams

BUCKET = "orders-large-events"
BIG = "12345678901234567890123456789012345678"  # 38 digits: no float holds them


@pytest.fixture
def delivered(moto, tmp_path: Path) -> tuple[Path, str]:
    """A claim-checked change as the handler leaves it: the object in S3, the pointer delivered."""
    keys = {"pk": {"S": "order-1"}, "n": {"N": BIG}}
    raw = streams.record(1, "INSERT", keys=keys, new={**keys, "payload": {"S": "é" * 3000}})
    entry = convert(decode(0, raw), Settings(event_bus_name="bus", dlq_url="https://q/1/dlq"))
    key = object_key("large-events/", "Orders", json.loads(entry.detail)["eventID"])
    s3 = client(moto, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=key, Body=stored_body(entry))
    pointer = pointer_entry(entry, BUCKET, key, len(stored_body(entry)))
    envelope = (
        '{"version":"0","id":"e-1","detail-type":"INSERT","source":"dynamodb.Orders",'
        '"account":"123456789012","time":"2025-11-26T00:00:00Z","region":"us-east-1",'
        f'"resources":[],"detail":{pointer.detail}}}'
    )
    path = tmp_path / "pointer.json"
    path.write_text(envelope, "utf-8")
    return path, key


def test_a_pointer_event_becomes_the_full_event_every_digit_kept(moto, cli, delivered) -> None:
    path, _ = delivered
    ran = cli("--endpoint-url", moto.endpoint, "fetch-event", str(path), endpoint=False)
    assert ran.status == 0, ran.err
    full = json.loads(ran.out)
    assert full["id"] == "e-1" and full["source"] == "dynamodb.Orders"
    assert full["detail"]["newImage"]["payload"] == "é" * 3000
    assert "claimCheck" not in full["detail"]
    assert "1.2345678901234567890123456789012345678E+37" in ran.out


def test_an_ordinary_event_is_printed_as_it_is(moto, cli, tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text('{"detail-type":"INSERT","detail":{"eventID":"1","keys":{"n":' + BIG + "}}}")
    ran = cli("--endpoint-url", moto.endpoint, "fetch-event", str(path), endpoint=False)
    assert ran.status == 0
    assert BIG in ran.out and "not a claim-checked pointer event" in ran.err


def test_a_missing_object_is_one_line_and_exit_2(moto, cli, delivered) -> None:
    path, key = delivered
    client(moto, "s3").delete_object(Bucket=BUCKET, Key=key)
    ran = cli("--endpoint-url", moto.endpoint, "fetch-event", str(path), endpoint=False)
    assert ran.status == 2
    assert ran.err.strip() == f"dynamodb-fanout: error: cannot read s3://{BUCKET}/{key}: NoSuchKey"


@pytest.mark.parametrize("text", ["[]", "{}", "not json"])
def test_what_is_not_an_event_is_refused_with_what_was_expected(cli, tmp_path, text) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    ran = cli("fetch-event", str(path))
    assert ran.status == 2
    assert "expected an EventBridge event" in ran.err or "is not an EventBridge event" in ran.err
    assert len(ran.err.strip().splitlines()) == 1


def test_a_missing_file_is_one_line_and_exit_2(cli, tmp_path) -> None:
    ran = cli("fetch-event", str(tmp_path / "nowhere.json"))
    assert ran.status == 2
    assert ran.err.startswith("dynamodb-fanout: error: cannot read")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "is empty"),
        (b"{not json", "is not a stored event (not JSON"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b'{"detail": {"eventID": "someone-else"}}', "does not hold event"),
        (b"[1, 2]", "does not hold event"),
    ],
)
def test_a_corrupt_object_is_one_claim_check_error_and_exit_2(
    moto, cli, delivered, body, says
) -> None:
    path, key = delivered
    s3 = client(moto, "s3")
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    event = json.loads(path.read_text("utf-8"))
    with pytest.raises(ClaimCheckError, match=re.escape(says)):
        fetch_full_event(event, s3)
    ran = cli("--endpoint-url", moto.endpoint, "fetch-event", str(path), endpoint=False)
    assert ran.status == 2
    assert says in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err


@pytest.mark.parametrize(
    "pointer", [{"bucket": 5, "key": "k"}, {"key": "k"}, {"bucket": BUCKET, "key": ""}]
)
def test_a_malformed_pointer_is_a_claim_check_error(moto, cli, tmp_path, pointer) -> None:
    event = {"detail-type": "INSERT", "detail": {"eventID": "1", "claimCheck": pointer}}
    with pytest.raises(ClaimCheckError, match="malformed claim-check pointer"):
        fetch_full_event(event, client(moto, "s3"))
    path = tmp_path / "pointer.json"
    path.write_text(json.dumps(event))
    ran = cli("--endpoint-url", moto.endpoint, "fetch-event", str(path), endpoint=False)
    assert ran.status == 2 and "malformed claim-check pointer" in ran.err
