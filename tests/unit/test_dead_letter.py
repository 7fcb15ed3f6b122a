"""The DLQ body steps down one rung at a time, each measured in UTF-8 bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fanout.dead_letter import MALFORMED, TOO_LARGE, DeadLetter, message_for
from fanout.records import convert, decode
from fanout.settings import Settings
from tests.support import streams

BUS = "fanoutBus"
SETTINGS = Settings(event_bus_name=BUS, dlq_url="https://q/1/dlq")


def removal(payload: str) -> dict[str, Any]:
    keys = {"pk": {"S": "order-1"}}
    old = {**keys, "status": {"S": "PAID"}, "payload": {"S": payload}}
    return streams.record(1, "REMOVE", keys=keys, old=old)


def letter_for(record: dict[str, Any]) -> DeadLetter:
    entry = convert(decode(0, record), SETTINGS)
    return DeadLetter(0, record, TOO_LARGE, "too large", entry=entry)


def body_of(letter: DeadLetter, max_bytes: int) -> dict[str, Any]:
    message = message_for(letter, max_bytes, BUS)
    assert message.size <= max_bytes
    assert len(message.body.encode("utf-8")) <= max_bytes
    return json.loads(message.body)


def full_size(letter: DeadLetter) -> int:
    return message_for(letter, 10**7, BUS).size


def test_everything_fits_nothing_dropped() -> None:
    letter = letter_for(removal("p" * 100))
    body = body_of(letter, 262144)
    assert "truncated" not in body
    assert body["record"] == letter.record and "event" in body


def test_a_remove_whose_record_fits_keeps_its_old_image() -> None:
    letter = letter_for(removal("p" * 3000))
    body = body_of(letter, full_size(letter) - 1)
    assert body["truncated"] is True
    assert "event" not in body
    assert body["record"] == letter.record
    assert body["record"]["dynamodb"]["OldImage"]["payload"] == {"S": "p" * 3000}


def test_then_keys_and_metadata() -> None:
    letter = letter_for(removal("p" * 3000))
    body = body_of(letter, 2000)
    kept = body["record"]["dynamodb"]
    assert "OldImage" not in kept
    assert kept["Keys"] == {"pk": {"S": "order-1"}}
    assert kept["SequenceNumber"] == "000000000000000000001"
    assert body["record"]["eventID"] == "event-1"


def test_then_the_ids() -> None:
    record = removal("p")
    record["dynamodb"]["Keys"] = {"pk": {"S": "k" * 3000}}
    record["dynamodb"]["OldImage"]["pk"] = {"S": "k" * 3000}
    letter = letter_for(record)
    body = body_of(letter, 1500)
    assert body["record"] == {
        "eventID": "event-1",
        "eventName": "REMOVE",
        "eventSourceARN": streams.STREAM_ARN,
        "SequenceNumber": "000000000000000000001",
    }


@pytest.mark.parametrize("text", ["é", "☕", "😀", "\ud800"])
def test_non_ascii_identity_fields_still_fit_the_smallest_queue(text: str) -> None:
    record = {
        "eventID": text * 300,
        "eventName": text * 300,
        "eventSourceARN": text * 300,
        "dynamodb": {"SequenceNumber": text * 300, "Keys": {"pk": {"S": text * 300}}},
    }
    letter = DeadLetter(0, record, MALFORMED, "unknown eventName " + text * 300)
    body = body_of(letter, 1024)
    assert body["reason"] == MALFORMED
    assert body["truncated"] is True


def test_each_step_is_the_largest_that_fits() -> None:
    letter = letter_for(removal("p" * 3000))
    sizes = []
    for max_bytes in range(1024, full_size(letter) + 200, 97):
        sizes.append(len(json.dumps(body_of(letter, max_bytes))))
    assert sizes == sorted(sizes)
