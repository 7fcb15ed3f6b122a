"""Promises about time, tested with little time: endpoints that stall, short timeouts.

The handler must return before Lambda's deadline with every record
published, parked or reported, whatever the endpoints do; and with a slow
DLQ each redelivery must park more of the batch, in record order.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from fanout import EXHAUSTED, Clients, Deadline, Runtime, Settings, build_runtime, process
from fanout.deadline import CallTimedOut
from fanout.valve import SafetyValve
from tests.support import streams
from tests.support.bus import MemoryBus
from tests.support.clocks import Context, RealClock
from tests.support.sqs import MemorySqs
from tests.support.stall import client, stalling_endpoint

BUS = "fanoutBus"
SETTINGS = Settings(event_bus_name=BUS, dlq_url="https://sqs.us-east-1.amazonaws.com/1/dlq")


def runtime(
    events: Any, sqs: Any, settings: Settings = SETTINGS, valve: SafetyValve | None = None
) -> Runtime:
    """The real runtime on real time: these tests are about the clock."""
    built = build_runtime(settings, Clients(events, sqs))
    return dataclasses.replace(built, valve=valve) if valve else built


def seq(i: int) -> str:
    return f"{i:021d}"


def rejected(ids: range) -> dict[str, list[str | None]]:
    """Entries PutEvents rejects on every attempt."""
    return {f"event-{i}": ["ValidationException"] * 50 for i in ids}


@pytest.mark.parametrize("timeout_ms", [1200, 2500])
def test_put_events_stalling_returns_in_time_and_reports_every_record(timeout_ms: int) -> None:
    sqs = MemorySqs()
    records = [streams.insert(i) for i in range(25)]
    with stalling_endpoint() as url:
        events = client("events", url)  # created before the clock starts, as at Lambda's init
        context = RealClock(timeout_ms)
        response = process(streams.batch(*records), context, runtime(events, sqs))
        left = context.get_remaining_time_in_millis()
    assert left > 0, f"returned {-left} ms after the deadline"
    # a stalled bus is retryable: everything stays in the stream, in order, nothing parked
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        seq(i) for i in range(25)
    ]
    assert sqs.bodies == []


def test_put_events_stalling_near_the_record_age_limit_parks_every_record() -> None:
    sqs = MemorySqs()
    records = [streams.insert(i) for i in range(25)]
    created = records[0]["dynamodb"]["ApproximateCreationDateTime"]
    # the mapping drops records older than an hour; these are 59 minutes 50 s old
    valve = SafetyValve(3600, None, clock=lambda: created + 3590)
    with stalling_endpoint() as url:
        context = RealClock(1200)
        rt = runtime(client("events", url), sqs, valve=valve)
        response = process(streams.batch(*records), context, rt)
        left = context.get_remaining_time_in_millis()
    assert left > 0, f"returned {-left} ms after the deadline"
    assert response == {"batchItemFailures": []}
    assert [body["record"]["eventID"] for body in sqs.bodies] == [r["eventID"] for r in records]
    assert {body["reason"] for body in sqs.bodies} == {EXHAUSTED}
    assert "CallTimedOut" in sqs.bodies[0]["message"]
    assert "maximum_record_age_in_seconds = 3600" in sqs.bodies[0]["message"]


@pytest.mark.parametrize("timeout_ms", [1000, 3000])
def test_dlq_stalling_returns_in_time_and_reports_what_is_not_parked(timeout_ms: int) -> None:
    events = MemoryBus(rejected(range(2, 12)), set())
    records = [streams.insert(i) for i in range(12)]
    with stalling_endpoint() as url:
        sqs = client("sqs", url)  # created before the clock starts, as at Lambda's init
        context = RealClock(timeout_ms)
        response = process(streams.batch(*records), context, runtime(events, sqs))
        left = context.get_remaining_time_in_millis()
    assert left > 0, f"returned {-left} ms after the deadline"
    assert events.published == ["event-0", "event-1"]
    reported = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert reported == [seq(i) for i in range(2, 12)]


def test_a_call_is_cut_off_at_its_limit() -> None:
    deadline = Deadline(lambda: 400.0, reserve_ms=100.0)
    with stalling_endpoint() as url:
        events = client("events", url)
        with pytest.raises(CallTimedOut):
            deadline.call(events.put_events, deadline.call_limit_ms(), Entries=[])


class SlowSqs(MemorySqs):
    """Every SendMessageBatch takes call_ms of the invocation's clock."""

    def __init__(self, context: Context, call_ms: float) -> None:
        super().__init__()
        self.context = context
        self.call_ms = call_ms

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        self.context.remaining_ms -= self.call_ms
        return super().send_message_batch(QueueUrl, Entries)


def test_slow_dlq_parks_in_record_order_and_every_redelivery_advances() -> None:
    records = [streams.insert(i) for i in range(100)]
    records[75] = {"eventID": "bad-75", "eventName": "INSERT", "dynamodb": {}}  # malformed
    events = MemoryBus(rejected(range(100)), set())
    parked: list[str] = []
    checkpoints: list[str] = []
    batch = records
    for _ in range(20):  # Lambda redelivering from the checkpoint
        context = Context(remaining_ms=2000)
        sqs = SlowSqs(context, call_ms=700)
        response = process(streams.batch(*batch), context, runtime(events, sqs))
        ids = [body["record"]["eventID"] for body in sqs.bodies]
        assert ids == sorted(ids, key=lambda x: int(x.split("-")[1])), "parked out of order"
        parked += ids
        failures = response["batchItemFailures"]
        if not failures:
            break
        checkpoints.append(failures[0]["itemIdentifier"])
        first = next(i for i, r in enumerate(records) if streams_seq(r) == checkpoints[-1])
        batch = records[first:]
    assert not response["batchItemFailures"], "the batch never got through"
    assert len(checkpoints) >= 2, "the test should need several redeliveries"
    assert checkpoints == sorted(checkpoints) and len(set(checkpoints)) == len(checkpoints)
    assert sorted(parked) == sorted(r["eventID"] for r in records), "parked twice or lost"
    assert "bad-75" in parked


def streams_seq(record: dict[str, Any]) -> str | None:
    try:
        return record["dynamodb"]["SequenceNumber"]
    except KeyError:
        return None


def test_letters_after_a_record_never_sent_are_left_for_redelivery() -> None:
    records = [streams.insert(i) for i in range(30)]
    events = MemoryBus(rejected(range(30)), set())
    sqs = MemorySqs()
    # enough time for the first requests only; the rest is never sent
    context = Context(remaining_ms=1500, per_call_ms=150)
    settings = Settings(event_bus_name=BUS, dlq_url=SETTINGS.dlq_url, publish_concurrency=1)
    response = process(streams.batch(*records), context, runtime(events, sqs, settings))
    first = response["batchItemFailures"][0]["itemIdentifier"]
    assert first != seq(0) and sqs.bodies
    assert all(json.loads(json.dumps(b))["record"]["eventID"] for b in sqs.bodies)
    assert all(int(b["record"]["dynamodb"]["SequenceNumber"]) < int(first) for b in sqs.bodies)


class RejectingSqs(MemorySqs):
    """SendMessageBatch that refuses one message for good (SenderFault)."""

    def __init__(self, refuse_event_id: str) -> None:
        super().__init__()
        self.refuse = refuse_event_id

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        self.calls += 1
        ok, failed = [], []
        for entry in Entries:
            body = json.loads(entry["MessageBody"])
            if body["record"]["eventID"] == self.refuse:
                failed.append({"Id": entry["Id"], "Code": "InvalidMessageContents"})
                failed[-1]["SenderFault"] = True
            else:
                self.bodies.append(body)
                ok.append({"Id": entry["Id"]})
        return {"Successful": ok, "Failed": failed}


def test_parking_stops_at_the_first_record_that_cannot_be_parked() -> None:
    records = [streams.insert(i) for i in range(35)]
    events = MemoryBus(rejected(range(35)), set())
    sqs = RejectingSqs("event-13")
    response = process(streams.batch(*records), Context(), runtime(events, sqs))
    assert sqs.calls == 2  # the batches after the refused one are left for redelivery
    assert response["batchItemFailures"][0]["itemIdentifier"] == seq(13)
    assert max(int(b["record"]["eventID"].split("-")[1]) for b in sqs.bodies) < 20
