"""The eventbridgev2 transport against botocore's real service model, and over HTTP (CBOR)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from fanout import (
    REJECTED,
    Clients,
    Deadline,
    Outcome,
    Runtime,
    build_runtime,
    client_config,
    convert,
    decode,
    process,
)
from fanout.rate import AdaptiveRate
from fanout.transport import OrderedTransport
from tests.support import streams
from tests.support.clocks import Context
from tests.support.http_bus_v2 import fake_bus
from tests.support.runtimes import BUS_V2, settings
from tests.support.sqs import MemorySqs
from tests.support.streams import change

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def stubbed() -> tuple[Any, Stubber]:
    """A client that validates every request against the eventbridgev2 model."""
    client = boto3.client(
        "eventbridgev2", region_name="us-east-1", config=Config(parameter_validation=True), **KEYS
    )
    return client, Stubber(client)


def deliver(
    client: Any, records: list[dict[str, Any]], rate: Any = None, **overrides: Any
) -> Outcome:
    """The records through the engine with the ordered transport, no deadline."""
    config = settings(BUS_V2, publish_concurrency=1, **overrides)
    runtime = build_runtime(config, Clients(client, MemorySqs()), sleep=lambda s: None, rate=rate)
    entries = [convert(decode(i, raw), config) for i, raw in enumerate(records)]
    return runtime.publish(entries, Deadline.unlimited())


def group_of(raw: dict[str, Any]) -> str | None:
    return OrderedTransport(None, BUS_V2, settings(BUS_V2).event_groups).group_of(raw)


def published(seq: int) -> dict[str, str]:
    return {"EventId": f"e{seq}", "SequenceNumber": str(seq), "SuccessCode": "PUBLISHED"}


def test_request_shape_follows_the_service_model() -> None:
    client, stub = stubbed()
    raw = change(1, 0)
    stub.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [published(1)]},
        expected_params={
            "EventBusArn": BUS_V2,
            "Entries": [
                {
                    "Source": "dynamodb.Orders",
                    "DetailType": "MODIFY",
                    "Detail": ANY,
                    "Resources": [streams.TABLE_ARN],
                    "Time": datetime.datetime(2025, 11, 26, tzinfo=datetime.UTC),
                    "SystemMetadata": {"EventGroupId": group_of(raw), "DeduplicationId": "event-1"},
                }
            ],
        },
    )
    with stub:
        outcome = deliver(client, [raw])
    stub.assert_no_pending_responses()
    assert outcome.published == [0] and outcome.calls == 1


def test_a_group_id_of_a_long_table_and_key_passes_the_models_length_check() -> None:
    client, stub = stubbed()
    raw = change(1, 0, keys={"pk": {"S": "k" * 300}})
    raw["eventSourceARN"] = raw["eventSourceARN"].replace("table/Orders", "table/" + "t" * 255)
    stub.add_response("put_events", {"Entries": [published(1)]})
    with stub:
        outcome = deliver(client, [raw])
    assert outcome.published == [0]


def test_published_and_deduplicated_both_count_as_delivered() -> None:
    client, stub = stubbed()
    stub.add_response(
        "put_events",
        {"Entries": [published(1), {"EventId": "e2", "SuccessCode": "DEDUPLICATED"}]},
    )
    with stub:
        outcome = deliver(client, [change(1, 0), change(2, 1)])
    assert sorted(outcome.published) == [0, 1]
    assert outcome.deduplicated == 1 and outcome.letters == [] and outcome.left == []


def test_per_entry_throttling_is_retried_alone_and_rejection_is_final() -> None:
    client, stub = stubbed()
    stub.add_response(
        "put_events",
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                published(2),
                {"ErrorCode": "InvalidInputException", "ErrorMessage": "bad detail"},
            ],
        },
    )
    stub.add_response(
        "put_events",
        {"Entries": [published(1)]},
        expected_params={"EventBusArn": BUS_V2, "Entries": [ANY]},
    )
    with stub:
        outcome = deliver(client, [change(1, 0), change(2, 1), change(3, 2)])
    stub.assert_no_pending_responses()
    assert sorted(outcome.published) == [0, 1]
    assert [(x.index, x.reason, x.message.split(":")[0]) for x in outcome.letters] == [
        (2, REJECTED, "InvalidInputException")
    ]
    assert outcome.retried == 1


@pytest.mark.parametrize(
    ("code", "status", "retried"),
    [
        ("ThrottlingException", 429, True),
        ("InternalException", 500, True),
        ("InvalidStateException", 409, True),  # a bus still being created or updated
        ("AccessDeniedException", 403, False),
        ("ResourceNotFoundException", 404, False),
        ("InvalidInputException", 400, False),
    ],
)
def test_request_errors_of_the_model_are_sorted(code: str, status: int, retried: bool) -> None:
    client, stub = stubbed()
    stub.add_client_error("put_events", service_error_code=code, http_status_code=status)
    if retried:
        stub.add_response("put_events", {"Entries": [published(1)]})
    with stub:
        outcome = deliver(client, [change(1, 0)])
    stub.assert_no_pending_responses()
    if retried:
        assert outcome.published == [0] and outcome.calls == 2
    else:
        assert outcome.published == [] and outcome.calls == 1
        assert [(x.reason, x.message.split(":")[0]) for x in outcome.letters] == [(REJECTED, code)]


def test_a_missing_result_is_retried_and_comes_back_deduplicated() -> None:
    client, stub = stubbed()
    stub.add_response("put_events", {"Entries": []})
    stub.add_response("put_events", {"Entries": [{"EventId": "e1", "SuccessCode": "DEDUPLICATED"}]})
    with stub:
        outcome = deliver(client, [change(1, 0)])
    assert outcome.published == [0] and outcome.deduplicated == 1


def test_throttled_every_attempt_ends_exhausted_and_holds_back_its_item() -> None:
    client, stub = stubbed()
    for _ in range(2):
        stub.add_client_error(
            "put_events", service_error_code="ThrottlingException", http_status_code=429
        )
    with stub:
        outcome = deliver(client, [change(1, 0), change(2, 0)], max_attempts=2)
    # retryable: left for the stream, never parked; the item's later change is held back
    assert outcome.letters == []
    assert [(x.envelope.index, x.attempts) for x in outcome.left] == [(0, 2), (1, 0)]
    assert "ThrottlingException" in outcome.left[0].why and outcome.held_back == 1


class Pace:
    """A rate object as the shared one will be: counts what it is told."""

    def __init__(self, allow: bool = True) -> None:
        self.allow = allow
        self.acquired: list[int] = []
        self.throttles = 0
        self.successes: list[int] = []

    def acquire(self, entries: int, deadline: Deadline) -> bool:
        self.acquired.append(entries)
        return self.allow

    def room(self, deadline: Deadline, wanted: int) -> int:
        return wanted

    @property
    def per_second(self) -> float:
        return 1.0

    def throttled(self, started: float | None = None) -> None:
        self.throttles += 1

    def succeeded(self, entries: int) -> None:
        self.successes.append(entries)


def test_an_optional_rate_is_asked_before_each_call_and_told_the_result() -> None:
    client, stub = stubbed()
    stub.add_response(
        "put_events",
        {"Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "x"}, published(2)]},
    )
    stub.add_response("put_events", {"Entries": [published(1)]})
    rate = Pace()
    with stub:
        deliver(client, [change(1, 0), change(2, 1)], rate=rate)
    assert rate.acquired == [2, 1] and rate.throttles == 1 and rate.successes == [1, 1]


def test_a_rate_that_refuses_leaves_the_entries_unsent() -> None:
    client, stub = stubbed()
    with stub:
        outcome = deliver(client, [change(1, 0), change(2, 0)], rate=Pace(allow=False))
    assert sorted(x.envelope.index for x in outcome.left) == [0, 1] and outcome.calls == 0
    assert all(x.attempts == 0 for x in outcome.left)


def test_the_runtime_picks_the_eventbridgev2_client_for_an_event_busv2_arn(aws: None) -> None:
    west = BUS_V2.replace("us-east-1", "eu-west-1")
    runtime = build_runtime(settings(west))
    assert isinstance(runtime.transport, OrderedTransport)
    meta = runtime.transport.client.meta
    assert (meta.service_model.service_name, meta.region_name) == ("eventbridgev2", "eu-west-1")
    assert isinstance(runtime.rate, AdaptiveRate)  # shared, as on the classic bus


# --- over HTTP: the CBOR protocol, timeouts, stalls ------------------------------------------


def http_runtime(url: str, **overrides: Any) -> tuple[Runtime, MemorySqs]:
    config = settings(BUS_V2, **overrides)
    client = boto3.client(
        "eventbridgev2",
        endpoint_url=url,
        region_name="us-east-1",
        config=client_config(config.publish_concurrency),
        **KEYS,
    )
    sqs = MemorySqs()
    return build_runtime(config, Clients(client, sqs), sleep=lambda s: None), sqs


def five_changes_of_three_items() -> list[dict[str, Any]]:
    return [change(seq, seq % 3) for seq in range(15)]


def in_order(bus: Any) -> dict[str, list[str]]:
    return {group: list(ids) for group, ids in bus.log.items()}


def expected_logs(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    logs: dict[str, list[str]] = {}
    for raw in records:
        logs.setdefault(group_of(raw) or "", []).append(raw["eventID"])
    return logs


@pytest.mark.parametrize("plan", [["throttle"], ["internal"], ["partial:2"], ["partial:1"]])
def test_throttling_service_errors_and_partial_failures_over_http(plan: list[str]) -> None:
    records = five_changes_of_three_items()
    with fake_bus(plan) as (url, bus):
        runtime, sqs = http_runtime(url, publish_concurrency=2)
        response = process(streams.batch(*records), Context(), runtime)
    assert response == {"batchItemFailures": []} and sqs.bodies == []
    assert in_order(bus) == expected_logs(records)
    for request in bus.requests:
        groups = [e["SystemMetadata"]["EventGroupId"] for e in request["Entries"]]
        assert len(groups) == len(set(groups))


def test_an_answer_lost_to_a_stall_is_retried_and_deduplicated_over_http() -> None:
    records = five_changes_of_three_items()
    with fake_bus(["accept-stall:1.5"]) as (url, bus):
        runtime, sqs = http_runtime(url, publish_concurrency=1)
        # 900 ms left: each call may take 600 ms, so the stalled one is abandoned
        response = process(streams.batch(*records), Context(remaining_ms=900), runtime)
        second = bus.requests[1]["Entries"]
    assert response == {"batchItemFailures": []} and sqs.bodies == []
    assert in_order(bus) == expected_logs(records)
    retried = [e["SystemMetadata"]["DeduplicationId"] for e in second]
    assert retried == ["event-0", "event-1", "event-2"]


def test_a_stall_until_the_deadline_reports_the_item_back_in_order_over_http() -> None:
    records = five_changes_of_three_items()
    with fake_bus(["ok", "stall:1.5", "stall:1.5"]) as (url, _bus):
        runtime, sqs = http_runtime(url, publish_concurrency=1, max_attempts=2)
        response = process(streams.batch(*records), Context(remaining_ms=900), runtime)
    # the first changes are published; the stalled ones are retryable (their outcome is
    # unknown: at least once), so they and the later changes are reported back, none parked
    reported = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert reported[0] == f"{3:021d}"
    assert sqs.bodies == []


def test_a_rejected_request_parks_the_heads_and_holds_back_the_rest_over_http() -> None:
    records = five_changes_of_three_items()
    with fake_bus(["invalid"]) as (url, bus):
        runtime, sqs = http_runtime(url, publish_concurrency=1)
        response = process(streams.batch(*records), Context(), runtime)
    assert sorted(b["record"]["eventID"] for b in sqs.bodies) == ["event-0", "event-1", "event-2"]
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{3:021d}"
    assert bus.log == {}
    detail = json.loads(sqs.bodies[0]["event"]["Detail"])
    assert detail["eventID"] == "event-0"
