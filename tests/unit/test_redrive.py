"""The DLQ redrive tool re-publishes parked events and leaves what it cannot."""

from __future__ import annotations

from fanout.handler import build_runtime, process
from tests.unit import streams
from tests.unit.conftest import Context, Stack, harness, make_settings
from tools.redrive import redrive


def test_redrive_republishes_parked_events_and_keeps_the_rest(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {f"{i:021d}": ["AccessDeniedException"] for i in range(3)}
    oversize = streams.insert(9, payload="o" * 300_000)
    records = [streams.insert(i) for i in range(3)] + [oversize, {"eventName": "INSERT"}]
    settings = make_settings(stack, max_event_bytes=200_000)
    h.runtime = build_runtime(settings)
    h.runtime.publisher.client = h.events
    assert process(streams.batch(*records), Context(), h.runtime) == {"batchItemFailures": []}
    assert stack.consumed() == []

    dry = redrive(stack.sqs, stack.events, stack.dlq_url, dry_run=True)
    assert dry.republished == 3
    summary = redrive(stack.sqs, stack.events, stack.dlq_url)
    assert summary.republished == 3 and summary.failed == 0
    assert summary.left == {"MalformedRecord": 1, "EventTooLarge": 1}
    consumed = stack.consumed()
    assert sorted(e["detail"]["eventID"] for e in consumed) == ["event-0", "event-1", "event-2"]
    assert consumed[0]["time"] == "2025-11-26T00:00:00Z"


def test_redrive_can_filter_by_reason(stack: Stack) -> None:
    runtime = build_runtime(make_settings(stack))
    process(streams.batch({"eventName": "INSERT"}), Context(), runtime)
    summary = redrive(stack.sqs, stack.events, stack.dlq_url, reasons={"RetriesExhausted"})
    assert summary.republished == 0
    assert summary.left == {"MalformedRecord": 1}


def test_redrive_stops_at_the_limit_and_packs_requests_by_size(stack: Stack) -> None:
    h = harness(stack)
    h.events.entry_faults = {f"{i:021d}": ["AccessDeniedException"] for i in range(12)}
    process(
        streams.batch(*[streams.insert(i, "p" * 3000) for i in range(12)]), Context(), h.runtime
    )
    calls = []
    real_put = stack.events.put_events

    class Events:
        def put_events(self, Entries):
            calls.append(len(Entries))
            return real_put(Entries=Entries)

    summary = redrive(stack.sqs, Events(), stack.dlq_url, limit=3)
    assert summary.republished == 3
    summary = redrive(stack.sqs, Events(), stack.dlq_url, max_bytes=10_000)
    assert summary.republished == 9
    assert max(calls[1:]) <= 3  # each event is ~3.3 KB: three fit under 10,000 bytes
    assert len(stack.consumed()) == 12
