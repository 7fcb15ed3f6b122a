"""The partial-batch response: a checkpoint Lambda can use, never an accidental full retry."""

from __future__ import annotations

from fanout.response import batch_item_failures
from tests.support import streams


def ids(response: dict) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_everything_placed_reports_nothing() -> None:
    records = [streams.insert(i) for i in range(3)]
    assert batch_item_failures(records, {0, 1, 2}) == {"batchItemFailures": []}
    assert batch_item_failures([], set()) == {"batchItemFailures": []}


def test_reports_from_the_first_unplaced_record_onwards() -> None:
    records = [streams.insert(i) for i in range(5)]
    # records 3 and 4 were placed, but Lambda re-delivers from record 2 anyway
    assert ids(batch_item_failures(records, {0, 1, 3, 4})) == [f"{i:021d}" for i in (2, 3, 4)]


def test_later_records_without_a_sequence_number_are_left_out() -> None:
    no_sequence = {"eventID": "x", "eventName": "INSERT"}  # parked as malformed
    records = [streams.insert(1), streams.insert(2), no_sequence, streams.insert(4)]
    response = batch_item_failures(records, {0, 2, 3})
    assert ids(response) == [f"{2:021d}", f"{4:021d}"]  # an empty id would fail the batch


def test_an_unplaced_record_without_a_sequence_number_fails_the_whole_batch() -> None:
    records = [streams.insert(1), {"eventName": "INSERT"}, streams.insert(3)]
    assert ids(batch_item_failures(records, {0, 2})) == ["", f"{3:021d}"]
