"""Nothing a caller sends makes the handler raise: bad records, bad events, bad contexts."""

from __future__ import annotations

from typing import Any

import pytest

from fanout import build_runtime, process
from fanout.dead_letter import MALFORMED
from tests.support import streams
from tests.support.clocks import Context
from tests.unit.conftest import Stack, make_settings


@pytest.mark.parametrize("event_name", [["INSERT"], {"op": "INSERT"}, 5, None, True])
def test_a_non_string_event_name_is_parked_and_the_batch_goes_on(
    stack: Stack, event_name: Any
) -> None:
    bad = streams.insert(2)
    bad["eventName"] = event_name
    records = [streams.insert(1), bad, streams.insert(3)]
    response = process(streams.batch(*records), Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    assert sorted(e["detail"]["eventID"] for e in stack.consumed()) == ["event-1", "event-3"]
    [letter] = stack.dead_letters()
    assert letter["reason"] == MALFORMED
    assert letter["record"]["eventName"] == event_name
    assert letter["_attributes"] == {"reason": MALFORMED, "table": "Orders"}


@pytest.mark.parametrize(
    "event",
    [
        [streams.insert(1)],
        "Records",
        42,
        {"Records": "not a list"},
        {"Records": {"0": streams.insert(1)}},
        {"Records": 7},
    ],
)
def test_an_event_that_is_not_a_stream_batch_is_parked_whole(stack: Stack, event: Any) -> None:
    response = process(event, Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    [letter] = stack.dead_letters()
    assert letter["reason"] == MALFORMED
    assert letter["record"] == event
    assert "not" in letter["message"]


def test_an_unparkable_bad_event_makes_lambda_retry(stack: Stack) -> None:
    stack.sqs.delete_queue(QueueUrl=stack.dlq_url)
    response = process([1, 2], Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": [{"itemIdentifier": ""}]}


class NoMethod:
    function_name = "f"


class NotCallable:
    function_name = "f"
    get_remaining_time_in_millis = 5000


class ReturnsNone:
    function_name = None

    def get_remaining_time_in_millis(self) -> None:
        return None


class Raises:
    def get_remaining_time_in_millis(self) -> float:
        raise RuntimeError("no clock")


class ReturnsText:
    def get_remaining_time_in_millis(self) -> str:
        return "3000"


class GoesBad:
    """A clock that works at first and then returns None."""

    def __init__(self) -> None:
        self.reads = 0

    def get_remaining_time_in_millis(self) -> float | None:
        self.reads += 1
        return 60_000 if self.reads == 1 else None


@pytest.mark.parametrize(
    "context", [None, NoMethod(), NotCallable(), ReturnsNone(), Raises(), ReturnsText(), GoesBad()]
)
def test_an_unusable_context_means_no_deadline(stack: Stack, context: Any) -> None:
    records = [streams.insert(i) for i in range(12)]
    response = process(streams.batch(*records), context, build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    assert len(stack.consumed()) == 12
