"""Claim-check: pointer events built from large entries, the full event stored in S3 (moto)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from fanout import build_runtime, process
from fanout.claim_check import (
    ClaimCheck,
    ClaimCheckError,
    fetch_full_event,
    is_pointer,
    object_key,
    pointer_entry,
    stored_body,
)
from fanout.deadline import Deadline
from fanout.records import Entry, convert, decode
from fanout.settings import Settings, SettingsError
from tests import event_schema
from tests.support import streams
from tests.support.clocks import Context
from tests.support.s3 import MemoryS3
from tests.unit.conftest import make_settings

BUCKET = "large-events-bucket"
PREFIX = "large-events/"
BIG_KEY = "12345678901234567890123456789012345678"


def entry_of(raw: dict[str, Any], fmt: str = "plain") -> Entry:
    settings = Settings(event_bus_name="fanoutBus", dlq_url="https://q/1/dlq", detail_format=fmt)
    return convert(decode(0, raw), settings)


def big_modify(payload: int = 5000, seq: int = 1) -> dict[str, Any]:
    keys = {"pk": {"S": "order-1"}, "n": {"N": BIG_KEY}}
    old = {**keys, "status": {"S": "NEW"}, "payload": {"S": "a" * payload}}
    new = {**keys, "status": {"S": "PAID"}, "payload": {"S": "b" * payload}, "note": {"S": "café"}}
    return streams.record(seq, "MODIFY", keys=keys, new=new, old=old)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_object_key_is_derived_from_table_and_event_id() -> None:
    assert re.fullmatch(r"p/Orders/abc123-[0-9a-f]{20}\.json", object_key("p/", "Orders", "abc123"))
    assert object_key("p/", "my.table", "a/b c").startswith("p/my.table/a_b_c-")
    assert object_key("p/", "t", "").startswith("p/t/no-event-id-")
    assert object_key("p/", "t", "e", "1", "arn") == object_key("p/", "t", "e", "1", "arn")


def test_object_keys_are_unique_per_record() -> None:
    """Empty eventIDs, or ones equal once unsafe characters are replaced, never share an object."""
    arn = streams.STREAM_ARN
    keys = {
        object_key(PREFIX, "Orders", "", "1", arn),
        object_key(PREFIX, "Orders", "", "2", arn),
        object_key(PREFIX, "Orders", "a/b", "3", arn),
        object_key(PREFIX, "Orders", "a b", "3", arn),
        object_key(PREFIX, "Orders", "a_b", "3", arn),
        object_key(PREFIX, "Orders", "x" * 300, "4", arn),
        object_key(PREFIX, "Orders", "x" * 301, "4", arn),
        object_key(PREFIX, "Orders", "a/b", "3", arn + "-other"),
    }
    assert len(keys) == 8


def test_records_whose_ids_collide_in_the_key_each_get_their_own_object(s3) -> None:
    first, second = big_modify(seq=1), big_modify(seq=99)
    first["eventID"], second["eventID"] = "a/b", "a b"
    entries = [entry_of(first), entry_of(second)]
    check = ClaimCheck(s3, BUCKET, PREFIX)
    pointers = [store(check, entry).pointer for entry in entries]
    keys = [json.loads(p.detail)["claimCheck"]["key"] for p in pointers if p is not None]
    assert len(set(keys)) == 2
    for key, entry in zip(keys, entries, strict=True):
        body = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        assert body["detail"]["eventID"] == entry.record.event_id
        assert body["detail"]["sequenceNumber"] == entry.record.sequence_number


@pytest.mark.parametrize("fmt", event_schema.FORMATS)
def test_pointer_keeps_keys_metadata_and_changes_but_no_images(fmt: str) -> None:
    entry = entry_of(big_modify(), fmt)
    pointer = pointer_entry(entry, BUCKET, "large-events/Orders/event-1.json", 12345)
    detail = json.loads(pointer.detail)
    full = json.loads(entry.detail)

    assert (pointer.source, pointer.detail_type) == (entry.source, entry.detail_type)
    assert (pointer.resources, pointer.time) == (entry.resources, entry.time)
    assert "newImage" not in detail and "oldImage" not in detail
    for name in ("eventID", "eventName", "sequenceNumber", "tableName", "changedAttributes"):
        assert detail[name] == full[name]
    if fmt != "raw":
        assert detail["keys"] == full["keys"]
    if fmt != "plain":
        images = ("NewImage", "OldImage")
        assert detail["dynamodb"] == {k: v for k, v in full["dynamodb"].items() if k not in images}
        assert detail["dynamodb"]["Keys"] == full["dynamodb"]["Keys"]
    assert detail["claimCheck"] == {
        "bucket": BUCKET,
        "key": "large-events/Orders/event-1.json",
        "size": 12345,
        "uri": f"s3://{BUCKET}/large-events/Orders/event-1.json",
    }
    assert pointer.size < 1500 < entry.size
    event_schema.assert_valid(event_schema.envelope(pointer.to_api("fanoutBus")), fmt)


def test_pointer_keeps_every_digit_of_a_number_key() -> None:
    pointer = pointer_entry(entry_of(big_modify()), BUCKET, "k", 1)
    assert '"n":1.2345678901234567890123456789012345678E+37' in pointer.detail


def test_pointer_size_follows_the_putevents_formula() -> None:
    entry = entry_of(big_modify())
    pointer = pointer_entry(entry, BUCKET, "k", 1)
    expected = 14 + len(entry.source) + len(entry.detail_type) + len(pointer.detail.encode())
    assert pointer.size == expected + sum(len(r) for r in entry.resources)


def store(check: ClaimCheck, entry: Entry, max_size: int = 2000, deadline: Deadline | None = None):
    """One claim-check as the handler makes it: a pointer under max_size, or why not."""
    return check.store(
        entry, lambda pointer: pointer.size < max_size, deadline or Deadline.unlimited()
    )


def test_store_puts_the_full_event_and_a_retry_overwrites(s3) -> None:
    entry = entry_of(big_modify())
    check = ClaimCheck(s3, BUCKET, PREFIX, sleep=lambda s: None)

    first = store(check, entry)
    again = store(check, entry)

    assert first.pointer is not None and first.pointer == again.pointer
    objects = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in objects] == [json.loads(first.pointer.detail)["claimCheck"]["key"]]
    assert objects[0]["Key"].startswith("large-events/Orders/event-1-")
    body = s3.get_object(Bucket=BUCKET, Key=objects[0]["Key"])["Body"].read()
    assert body == stored_body(entry)
    stored = json.loads(body)
    assert stored["source"] == entry.source and stored["detail-type"] == "MODIFY"
    assert stored["detail"] == json.loads(entry.detail)
    assert json.loads(first.pointer.detail)["claimCheck"]["size"] == len(body)


def test_consumer_helper_returns_the_full_event(s3) -> None:
    entry = entry_of(big_modify(), "both")
    pointer = store(ClaimCheck(s3, BUCKET, PREFIX), entry).pointer
    assert pointer is not None
    delivered = event_schema.envelope(pointer.to_api("fanoutBus"))
    assert is_pointer(delivered)

    full = fetch_full_event(delivered, s3)

    assert not is_pointer(full)
    assert full["detail"] == json.loads(entry.detail)
    assert full["id"] == delivered["id"] and full["source"] == delivered["source"]
    event_schema.assert_valid(full, "both")


def test_consumer_helper_leaves_ordinary_events_alone() -> None:
    event = event_schema.envelope(entry_of(streams.insert(1)).to_api("fanoutBus"))
    assert fetch_full_event(event, s3=object()) is event


def test_consumer_helper_refuses_a_missing_or_foreign_object(s3) -> None:
    pointer = store(ClaimCheck(s3, BUCKET, PREFIX), entry_of(big_modify())).pointer
    assert pointer is not None
    delivered = event_schema.envelope(pointer.to_api("fanoutBus"))
    other = dict(delivered, detail={**delivered["detail"], "eventID": "someone-else"})
    with pytest.raises(ClaimCheckError, match="does not hold event 'someone-else'"):
        fetch_full_event(other, s3)
    s3.delete_object(Bucket=BUCKET, Key=delivered["detail"]["claimCheck"]["key"])
    with pytest.raises(ClaimCheckError, match="cannot read s3://"):
        fetch_full_event(delivered, s3)


def test_a_missing_bucket_is_final_and_not_retried(s3) -> None:
    counting = MemoryS3(99, "NoSuchBucket")
    result = store(
        ClaimCheck(counting, "no-such-bucket", PREFIX, sleep=lambda s: None), entry_of(big_modify())
    )
    assert result.pointer is None and result.retry is None and result.problem
    assert "NoSuchBucket" in result.problem
    assert "s3://no-such-bucket/large-events/Orders/event-1-" in result.problem
    assert counting.calls == 1


@pytest.mark.parametrize("fault", ["SlowDown", "Timeout"])
def test_a_failing_store_is_retried_a_bounded_number_of_times_then_tried_again_later(
    fault: str,
) -> None:
    entry = entry_of(big_modify())
    assert store(
        ClaimCheck(MemoryS3(2, fault), BUCKET, PREFIX, sleep=lambda s: None), entry
    ).pointer
    down = MemoryS3(99, fault)
    result = store(ClaimCheck(down, BUCKET, PREFIX, sleep=lambda s: None), entry)
    # S3 failing for now is no reason to park: the change comes again from the stream
    assert down.calls == 3 and result.problem is None and result.pointer is None
    assert result.retry and ("SlowDown" in result.retry or "ReadTimeout" in result.retry)


def test_every_call_names_the_bucket_owner_and_another_owners_bucket_is_refused() -> None:
    entry = entry_of(big_modify())
    s3 = MemoryS3(owner="123456789012")  # S3 answers 403 when the owner is not the expected one
    other = store(ClaimCheck(s3, BUCKET, PREFIX, owner="210987654321"), entry)
    assert other.pointer is None and other.problem and "AccessDenied" in other.problem
    own = store(ClaimCheck(s3, BUCKET, PREFIX, owner="123456789012"), entry).pointer
    assert own is not None and s3.owners == ["210987654321", "123456789012"]
    delivered = event_schema.envelope(own.to_api("fanoutBus"))
    with pytest.raises(ClaimCheckError, match="AccessDenied"):
        fetch_full_event(delivered, s3, expected_bucket_owner="210987654321")
    assert fetch_full_event(delivered, s3, expected_bucket_owner="123456789012")["detail"]


def test_nothing_is_put_without_time_left() -> None:
    s3 = MemoryS3()
    deadline = Deadline(lambda: 900.0, 1000.0)
    result = store(ClaimCheck(s3, BUCKET, PREFIX), entry_of(big_modify()), deadline=deadline)
    assert s3.calls == 0 and result.problem is None  # never tried: reported back, not parked
    assert result.retry and "no time left" in result.retry


def test_a_pointer_that_is_still_too_large_is_not_stored() -> None:
    s3 = MemoryS3()
    result = store(ClaimCheck(s3, BUCKET, PREFIX), entry_of(big_modify()), max_size=600)
    assert s3.calls == 0
    assert result.problem and "even its claim-check pointer is" in result.problem


# --- in the handler: settings and the pipeline, on moto --------------------------------


def test_settings_read_the_claim_check_variables() -> None:
    env = {"EVENT_BUS_NAME": "b", "DLQ_URL": "https://q/1/dlq"}
    plain = Settings.from_env(env)
    assert plain.large_event_bucket is None and plain.event_size_limit == plain.max_event_bytes
    settings = Settings.from_env(
        {
            **env,
            "LARGE_EVENT_BUCKET": "my-bucket",
            "LARGE_EVENT_PREFIX": "claims/",
            "MAX_EVENT_SIZE": "262144",
            "LARGE_EVENT_BUCKET_OWNER": "123456789012",
        }
    )
    assert settings.large_event_bucket_owner == "123456789012"
    assert (settings.large_event_bucket, settings.large_event_prefix) == ("my-bucket", "claims/")
    assert settings.event_size_limit == 262144
    capped = Settings.from_env({**env, "MAX_EVENT_SIZE": "900000", "MAX_EVENT_BYTES": "262144"})
    assert capped.event_size_limit == 262144


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "LARGE_EVENT_BUCKET",
            "arn:aws:s3:::b",
            "LARGE_EVENT_BUCKET='arn:aws:s3:::b' is not an S3",
        ),
        ("LARGE_EVENT_BUCKET", "My_Bucket", "is not an S3 bucket name"),
        ("LARGE_EVENT_PREFIX", "no-slash", "must be a key prefix ending in '/'"),
        ("LARGE_EVENT_BUCKET_OWNER", "1234", "is not an AWS account id (12 digits)"),
        ("LARGE_EVENT_PREFIX", "/abs/", "must be a key prefix ending in '/'"),
        ("MAX_EVENT_SIZE", "100", "MAX_EVENT_SIZE='100' must be a whole number from 1024"),
        ("MAX_EVENT_SIZE", "big", "MAX_EVENT_SIZE='big' must be a whole number"),
    ],
)
def test_bad_claim_check_settings_are_refused(name: str, value: str, expected: str) -> None:
    env = {"EVENT_BUS_NAME": "b", "DLQ_URL": "https://q/1/dlq", name: value}
    with pytest.raises(SettingsError, match=re.escape(expected)):
        Settings.from_env(env)


@pytest.fixture
def bucket(stack) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.mark.parametrize("fmt", event_schema.FORMATS)
def test_an_oversize_record_reaches_the_consumer_as_a_pointer(stack, bucket, fmt) -> None:
    rt = build_runtime(
        make_settings(stack, detail_format=fmt, max_event_size=4096, large_event_bucket=bucket)
    )
    records = [streams.insert(1), big_modify(seq=2), streams.insert(3)]

    response = process(streams.batch(*records), Context(), rt)

    assert response == {"batchItemFailures": []}
    assert stack.dead_letters() == []
    events = {e["detail"]["eventID"]: e for e in stack.consumed()}
    assert set(events) == {"event-1", "event-2", "event-3"}
    assert [is_pointer(events[i]) for i in sorted(events)] == [False, True, False]
    for event in events.values():
        event_schema.assert_valid(event, fmt)
    pointer = events["event-2"]
    assert pointer["detail"]["claimCheck"]["key"].startswith("large-events/Orders/event-2-")
    full = fetch_full_event(pointer, boto3.client("s3"))
    event_schema.assert_valid(full, fmt)
    if fmt != "raw":
        assert full["detail"]["newImage"]["payload"] == "b" * 5000
    else:
        assert full["detail"]["dynamodb"]["NewImage"]["payload"] == {"S": "b" * 5000}


def test_without_a_bucket_the_cap_sends_the_record_to_the_dlq(stack) -> None:
    rt = build_runtime(make_settings(stack, max_event_size=4096))
    response = process(streams.batch(streams.insert(1), big_modify(seq=2)), Context(), rt)
    assert response == {"batchItemFailures": []}
    (letter,) = stack.dead_letters()
    assert letter["reason"] == "EventTooLarge"
    assert "events must stay under 4096 bytes (MAX_EVENT_SIZE)" in letter["message"]
    assert [e["detail"]["eventID"] for e in stack.consumed()] == ["event-1"]


def test_a_failed_store_parks_the_record_with_the_reason(stack) -> None:
    rt = build_runtime(make_settings(stack, max_event_size=4096, large_event_bucket="gone-bucket"))
    response = process(streams.batch(big_modify(seq=2), streams.insert(3)), Context(), rt)
    assert response == {"batchItemFailures": []}
    (letter,) = stack.dead_letters()
    assert letter["reason"] == "EventTooLarge"
    assert "claim-check: storing it in s3://gone-bucket/" in letter["message"]
    assert "NoSuchBucket" in letter["message"]
    assert [e["detail"]["eventID"] for e in stack.consumed()] == ["event-3"]


def test_the_metric_line_counts_claim_checked_events(stack, bucket, capsys) -> None:
    rt = build_runtime(make_settings(stack, max_event_size=4096, large_event_bucket=bucket))
    process(streams.batch(big_modify(seq=2), streams.insert(3)), Context(), rt)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["Published"], line["ClaimChecked"], line["DeadLettered"]) == (2, 1, 0)
