"""The handler end to end in moto: bus → rule → SQS consumer, and the DLQ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from fanout import build_runtime, handler, process
from fanout.dead_letter import MALFORMED, TOO_LARGE
from tests.support import streams
from tests.support.clocks import Context
from tests.unit.conftest import BUS, Stack, make_settings

EVENTS = Path(__file__).resolve().parents[2] / "examples" / "events"


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_mixed_batch_reaches_the_consumer_and_the_malformed_record_the_dlq(stack: Stack) -> None:
    event = sample("mixed-batch")
    response = process(event, Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    good = [r for r in event["Records"] if "dynamodb" in r]
    consumed = stack.consumed()
    assert sorted(e["detail"]["eventID"] for e in consumed) == sorted(r["eventID"] for r in good)
    for delivered in consumed:
        assert delivered["source"] == "dynamodb.Orders"
        assert delivered["detail-type"] == delivered["detail"]["eventName"]
        assert delivered["resources"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/Orders"]
    [letter] = stack.dead_letters()
    assert letter["reason"] == MALFORMED
    assert letter["record"] == event["Records"][-1]
    assert letter["_attributes"] == {"reason": MALFORMED, "eventName": "INSERT", "table": "Orders"}


def test_rules_can_select_on_plain_values(stack: Stack) -> None:
    sqs = stack.sqs
    paid = sqs.create_queue(QueueName="paid")["QueueUrl"]
    paid_arn = sqs.get_queue_attributes(QueueUrl=paid, AttributeNames=["QueueArn"])
    pattern = {"detail-type": ["MODIFY"], "detail": {"newImage": {"status": ["PAID"]}}}
    stack.events.put_rule(Name="paid", EventBusName=BUS, EventPattern=json.dumps(pattern))
    stack.events.put_targets(
        Rule="paid",
        EventBusName=BUS,
        Targets=[{"Id": "paid", "Arn": paid_arn["Attributes"]["QueueArn"]}],
    )
    process(sample("mixed-batch"), Context(), build_runtime(make_settings(stack)))
    received = [json.loads(m["Body"]) for m in stack.drain(paid)]
    assert len(received) == 4  # orders o-3000, o-3003, o-3006, o-3009 were paid
    assert {e["detail"]["newImage"]["status"] for e in received} == {"PAID"}


def test_oversize_item_is_parked_with_its_keys_and_never_blocks(stack: Stack) -> None:
    event = sample("oversize")
    response = process(event, Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    assert [e["detail"]["keys"]["orderId"] for e in stack.consumed()] == ["o-9998"]
    [letter] = stack.dead_letters()
    assert letter["reason"] == TOO_LARGE
    assert letter["truncated"] is True
    assert "event" not in letter
    kept = letter["record"]["dynamodb"]
    assert kept["Keys"] == {"orderId": {"S": "o-9999"}}
    assert kept["SequenceNumber"] == "300000000000000000001"
    assert "NewImage" not in kept and "OldImage" not in kept


def test_dead_letter_fits_dlq_max_bytes(stack: Stack) -> None:
    settings = make_settings(stack, max_event_bytes=2000, dlq_max_bytes=4096)
    record = streams.insert(1, payload="z" * 3000)
    process(streams.batch(record), Context(), build_runtime(settings))
    [message] = stack.drain(stack.dlq_url)
    assert len(message["Body"]) <= 4096
    body = json.loads(message["Body"])
    assert body["truncated"] is True
    assert body["reason"] == TOO_LARGE


def test_small_dead_letter_keeps_the_record_and_the_event(stack: Stack) -> None:
    settings = make_settings(stack, max_event_bytes=600)
    record = streams.insert(1, payload="z" * 700)
    process(streams.batch(record), Context(), build_runtime(settings))
    [letter] = stack.dead_letters()
    assert "truncated" not in letter
    assert letter["record"] == record
    assert json.loads(letter["event"]["Detail"])["newImage"]["payload"] == "z" * 700
    assert letter["event"]["EventBusName"] == BUS


@pytest.mark.parametrize("event", [{}, {"Records": []}, None])
def test_empty_batches_are_fine(stack: Stack, event: dict | None) -> None:
    assert process(event, Context(), build_runtime(make_settings(stack))) == {
        "batchItemFailures": []
    }


def test_bus_missing_parks_every_record(stack: Stack) -> None:
    stack.events.delete_event_bus(Name=BUS)
    event = streams.batch(*[streams.insert(i) for i in range(3)])
    response = process(event, Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    letters = stack.dead_letters()
    assert len(letters) == 3
    assert {x["reason"] for x in letters} <= {"PutEventsRejected", "RetriesExhausted"}


def test_one_log_line_with_counts_and_no_item_data(stack: Stack, capsys) -> None:
    event = streams.batch(*[streams.insert(i, payload="secret-payload") for i in range(12)])
    process(event, Context(), build_runtime(make_settings(stack)))
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    [line] = lines
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DynamoDBStreamFanout"
    assert (line["Records"], line["Published"], line["PutEventsCalls"]) == (12, 12, 2)
    assert line["FunctionName"] == "orders-fanout"
    assert "secret-payload" not in json.dumps(line)


def test_lambda_handler_reads_the_environment_once(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("DLQ_URL", stack.dlq_url)
    monkeypatch.setenv("EVENT_SOURCE", "com.example.orders")
    handler.reset()
    try:
        response = handler.lambda_handler(streams.batch(streams.insert(1)), Context())
        first = handler.runtime()
        monkeypatch.setenv("EVENT_SOURCE", "changed")
        assert handler.runtime() is first
    finally:
        handler.reset()
    assert response == {"batchItemFailures": []}
    assert [e["source"] for e in stack.consumed()] == ["com.example.orders"]


def test_bus_given_by_arn(stack: Stack) -> None:
    arn = boto3.client("events").describe_event_bus(Name=BUS)["Arn"]
    settings = make_settings(stack)
    settings = type(settings)(event_bus_name=arn, dlq_url=stack.dlq_url)
    process(streams.batch(streams.insert(1)), Context(), build_runtime(settings))
    assert len(stack.consumed()) == 1


def test_records_that_break_conversion_are_parked_and_the_batch_goes_on(stack: Stack) -> None:
    deep: dict = {"S": "bottom"}
    for _ in range(5000):  # far deeper than DynamoDB's 32 levels: recursion gives up
        deep = {"L": [deep]}
    lone_surrogate = streams.insert(2, payload="\ud800")  # cannot be encoded as UTF-8
    records = [streams.insert(1), streams.insert(3, nested=deep), lone_surrogate, streams.insert(4)]
    response = process(streams.batch(*records), Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    assert sorted(e["detail"]["eventID"] for e in stack.consumed()) == ["event-1", "event-4"]
    letters = {x["record"]["eventID"]: x for x in stack.dead_letters()}
    assert {x["reason"] for x in letters.values()} == {MALFORMED}
    too_deep = letters["event-3"]
    assert too_deep["truncated"] is True  # cannot be written in full: keys and metadata kept
    assert too_deep["record"]["dynamodb"]["Keys"] == {"pk": {"S": "order-3"}}
    assert "RecursionError" in too_deep["message"]
    assert letters["event-2"]["record"]["dynamodb"]["NewImage"]["payload"] == {"S": "\ud800"}


@pytest.mark.parametrize("event_name", ["INSERT\x00", "X" * 300_000, "\ud800"])
def test_a_malformed_record_with_a_strange_event_name_is_still_parked(
    stack: Stack, event_name: str
) -> None:
    bad = streams.insert(2)
    bad["eventName"] = event_name
    records = [streams.insert(1), bad, streams.insert(3)]
    response = process(streams.batch(*records), Context(), build_runtime(make_settings(stack)))
    assert response == {"batchItemFailures": []}
    [message] = stack.drain(stack.dlq_url)
    assert len(message["Body"]) <= 262144
    assert set(message["MessageAttributes"]) == {"reason", "table"}
    assert json.loads(message["Body"])["reason"] == MALFORMED


class CountingSession:
    """A boto3 session that records which clients are built."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.built: list[str] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        self.built.append(service)
        return self.session.client(service, **kwargs)


def test_the_sqs_client_is_built_only_when_a_record_needs_parking(stack: Stack) -> None:
    session = CountingSession()
    rt = build_runtime(make_settings(stack), session=session)
    assert process(streams.batch(streams.insert(1)), Context(), rt)["batchItemFailures"] == []
    assert session.built == ["events"]
    bad = streams.insert(2)
    bad["eventName"] = "UPSERT"
    assert process(streams.batch(bad), Context(), rt)["batchItemFailures"] == []
    assert session.built == ["events", "sqs"]
    assert [x["reason"] for x in stack.dead_letters()] == [MALFORMED]


def test_put_events_skips_botocore_parameter_validation(stack: Stack) -> None:
    """Entries are checked by the handler; botocore's walk over them is pure cost."""
    rt = build_runtime(make_settings(stack))
    try:  # botocore with validation on refuses this before sending (at least 1 entry)
        rt.transport.client.put_events(Entries=[])
    except ParamValidationError:
        pytest.fail("botocore validated the PutEvents parameters")
    except ClientError:
        pass  # sent, and the service answered
