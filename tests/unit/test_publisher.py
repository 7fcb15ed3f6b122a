"""Publishing under faults: only failed entries are retried, and every entry ends somewhere."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError

from fanout import REJECTED, convert, decode, process
from fanout.aws_errors import BASE_DELAY_S, MAX_DELAY_S
from tests.support import streams
from tests.support.clocks import Context
from tests.support.faults import client_error
from tests.unit.conftest import Stack, harness, make_settings


def seq(n: int) -> str:
    return f"{n:021d}"


def run(h, records, context=None):
    return process(streams.batch(*records), context or Context(), h.runtime)


def test_partial_failure_retries_only_the_failed_entries(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(3): ["ThrottlingException"], seq(7): ["InternalFailure"]}
    response = run(h, [streams.insert(i) for i in range(10)])
    assert response == {"batchItemFailures": []}
    assert len(h.events.calls) == 2
    assert h.events.sent_sequences(1) == [seq(3), seq(7)]
    assert sorted(e["detail"]["sequenceNumber"] for e in stack.consumed()) == [
        seq(i) for i in range(10)
    ]
    assert stack.dead_letters() == []


def test_whole_request_throttled_is_retried(stack: Stack) -> None:
    h = harness(stack)
    h.events.request_faults = {0: client_error("ThrottlingException")}
    response = run(h, [streams.insert(i) for i in range(5)])
    assert response == {"batchItemFailures": []}
    assert len(h.events.calls) == 2
    assert len(stack.consumed()) == 5


def test_connection_errors_are_retried(stack: Stack) -> None:
    h = harness(stack)
    h.events.request_faults = {0: EndpointConnectionError(endpoint_url="https://events")}
    assert run(h, [streams.insert(1)]) == {"batchItemFailures": []}
    assert len(stack.consumed()) == 1


def test_non_retryable_code_goes_to_the_dlq_after_one_attempt(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(2): ["MalformedDetail", "MalformedDetail"]}
    response = run(h, [streams.insert(i) for i in range(4)])
    assert response == {"batchItemFailures": []}
    assert h.events.attempts[seq(2)] == 1
    [letter] = stack.dead_letters()
    assert letter["reason"] == REJECTED
    assert letter["attempts"] == 1
    assert letter["message"].startswith("MalformedDetail")
    assert letter["record"]["dynamodb"]["SequenceNumber"] == seq(2)
    assert letter["event"]["DetailType"] == "INSERT"
    assert letter["_attributes"] == {
        "reason": "PutEventsRejected",
        "table": "Orders",
        "eventName": "INSERT",
    }
    assert len(stack.consumed()) == 3


def test_access_denied_for_the_request_parks_every_entry(stack: Stack) -> None:
    h = harness(stack)
    h.events.request_faults = {0: client_error("AccessDeniedException")}
    assert run(h, [streams.insert(i) for i in range(3)]) == {"batchItemFailures": []}
    assert len(h.events.calls) == 1
    assert {x["reason"] for x in stack.dead_letters()} == {REJECTED}


@pytest.mark.parametrize("max_attempts", [1, 3, 5])
def test_service_errors_stop_at_max_attempts_and_are_reported_back(
    stack: Stack, max_attempts: int
) -> None:
    h = harness(stack, max_attempts=max_attempts)
    h.events.entry_faults = {seq(1): ["InternalFailure"] * 10}
    response = run(h, [streams.insert(0), streams.insert(1), streams.insert(2)])
    # retryable: the stream delivers it again, in order; nothing is parked
    assert response == {
        "batchItemFailures": [{"itemIdentifier": seq(1)}, {"itemIdentifier": seq(2)}]
    }
    assert h.events.attempts[seq(1)] == max_attempts
    assert stack.dead_letters() == []
    assert len(h.sleeps) == max_attempts - 1


def test_throttled_entries_are_retried_beyond_max_attempts_while_time_allows(stack: Stack) -> None:
    h = harness(stack, max_attempts=3)
    h.events.entry_faults = {seq(1): ["ThrottlingException"] * 8}
    response = run(h, [streams.insert(0), streams.insert(1)])
    assert response == {"batchItemFailures": []}
    assert h.events.attempts[seq(1)] == 9
    assert stack.dead_letters() == []
    assert len(stack.consumed()) == 2


def test_throttling_lowers_the_shared_rate_and_success_raises_it(stack: Stack, capsys) -> None:
    h = harness(stack)
    before = h.runtime.rate.per_second
    h.events.entry_faults = {seq(i): ["ThrottlingException"] for i in range(10)}
    run(h, [streams.insert(i) for i in range(10)])
    lowered = h.runtime.rate.per_second
    assert lowered < before
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["Throttled"] == 10 and line["PublishRate"] == round(lowered, 1)
    run(h, [streams.insert(i) for i in range(10, 40)])
    assert h.runtime.rate.per_second > lowered  # kept across invocations, grown back


def test_backoff_is_full_jitter_and_bounded(stack: Stack) -> None:
    h = harness(stack, max_attempts=10)
    h.runtime.delivery.jitter = lambda: 1.0  # the top of each jitter range
    h.events.entry_faults = {seq(0): ["InternalFailure"] * 10}
    run(h, [streams.insert(0)])
    expected = [min(MAX_DELAY_S, BASE_DELAY_S * 2**k) for k in range(9)]
    assert h.sleeps == pytest.approx(expected, abs=0.005)  # waited from when it was queued
    h2 = harness(stack, max_attempts=3)
    h2.runtime.delivery.jitter = lambda: 0.25
    h2.events.entry_faults = {seq(5): ["ServiceUnavailable"] * 2}
    run(h2, [streams.insert(5)])
    assert h2.sleeps == pytest.approx([0.025, 0.05], abs=0.005)


def test_dlq_unavailable_reports_the_record_for_redelivery(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(3): ["ValidationException"]}
    h.sqs.down_for_calls = 99
    records = [streams.insert(i) for i in range(6)]
    response = run(h, records)
    # record 3 is in neither place: Lambda must deliver it (and what follows) again
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(i)} for i in range(3, 6)]}
    assert h.sqs.calls == 3  # bounded DLQ retries
    assert len(stack.consumed()) == 5


def test_dlq_recovering_within_its_retries_parks_the_record(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(0): ["ValidationException"]}
    h.sqs.down_for_calls = 2
    assert run(h, [streams.insert(0)]) == {"batchItemFailures": []}
    assert [x["reason"] for x in stack.dead_letters()] == [REJECTED]


def test_no_time_left_sends_nothing_and_reports_everything(stack: Stack) -> None:
    h = harness(stack)
    records = [streams.insert(i) for i in range(15)]
    response = run(h, records, Context(remaining_ms=10))
    assert h.events.calls == []
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(i)} for i in range(15)]}


def test_time_running_out_stops_retrying_and_reports_the_rest(stack: Stack) -> None:
    h = harness(stack, max_attempts=10)
    h.runtime.delivery.jitter = lambda: 1.0
    h.events.entry_faults = {seq(1): ["ThrottlingException"] * 100}
    # 3 s left and a 1 s reserve: the retries stop long before a hundred attempts
    context = Context(remaining_ms=3000, per_call_ms=200)
    response = run(h, [streams.insert(0), streams.insert(1), streams.insert(2)], context)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": seq(1)}, {"itemIdentifier": seq(2)}]
    }
    assert 1 < h.events.attempts[seq(1)] < 100
    assert stack.dead_letters() == []  # throttling is back-pressure, never a dead letter


def test_many_requests_are_sent_concurrently(stack: Stack) -> None:
    h = harness(stack, publish_concurrency=4)
    response = run(h, [streams.insert(i) for i in range(95)])
    assert response == {"batchItemFailures": []}
    assert len(h.events.calls) == 10
    assert len(stack.consumed()) == 95


def test_dead_letter_sends_stop_when_the_invocation_is_ending(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(i): ["ValidationException"] for i in range(3)}
    h.sqs.down_for_calls = 99
    # publishing takes the first reads of the clock; by the DLQ's turn, only the reserve is left
    context = Context(remaining_ms=3000, per_call_ms=1000)
    response = run(h, [streams.insert(i) for i in range(3)], context)
    assert h.sqs.calls <= 1
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        seq(i) for i in range(3)
    ]


def test_dead_letter_errors_that_cannot_succeed_are_not_retried(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(0): ["ValidationException"]}
    h.sqs.error = client_error("AccessDenied", 403, "SendMessageBatch")
    h.sqs.down_for_calls = 99
    response = run(h, [streams.insert(0), streams.insert(1)])
    assert h.sqs.calls == 1
    assert response == {
        "batchItemFailures": [{"itemIdentifier": seq(0)}, {"itemIdentifier": seq(1)}]
    }


def test_reported_counts_only_records_neither_published_nor_parked(stack: Stack, capsys) -> None:
    h = harness(stack)
    h.events.entry_faults = {seq(1): ["ValidationException"]}
    h.sqs.down_for_calls = 99
    response = run(h, [streams.insert(i) for i in range(5)])
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        seq(i) for i in range(1, 5)
    ]
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["Published"], line["Reported"], line["NotParked"]) == (4, 1, 1)


def test_oversize_message_states_the_limit_it_broke(stack: Stack) -> None:
    record = streams.insert(0, payload="z" * 500)
    size = convert(decode(0, record), make_settings(stack)).size
    h = harness(stack, max_event_bytes=size)  # exactly the budget: AWS wants less
    assert run(h, [record]) == {"batchItemFailures": []}
    [letter] = stack.dead_letters()
    assert letter["reason"] == "EventTooLarge"
    assert f"event is {size} bytes" in letter["message"]
    assert f"must stay under {size} bytes" in letter["message"]
    assert "at most" not in letter["message"]
