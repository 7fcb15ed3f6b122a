"""Property: for any batch and any fault schedule, no record is lost.

Every record is published, or in the DLQ, or at/after the checkpoint that
Lambda re-delivers from; none is published twice within one invocation.
Every event accepted by the bus conforms to the published schema of its
format, claim-check pointers included.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanout import Settings, process
from tests import event_schema
from tests.support import streams
from tests.support.bus import MemoryBus
from tests.support.clocks import Context
from tests.support.runtimes import memory_runtime
from tests.support.s3 import MemoryS3
from tests.support.sqs import MemorySqs

CODES = [None, None, "ThrottlingException", "InternalFailure", "ValidationException"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    count = draw(st.integers(0, 45))
    records = []
    for i in range(count):
        if draw(st.integers(0, 19)) == 0:
            records.append({"eventID": f"bad-{i}", "eventName": "INSERT"})  # malformed
        else:
            size = draw(st.sampled_from([1, 10, 200, 900, 2500]))  # 2500 is over the budget
            records.append(streams.insert(i, payload="p" * size))
    entry_faults = {
        f"event-{i}": draw(st.lists(st.sampled_from(CODES), max_size=4)) for i in range(count)
    }
    return {
        "records": records,
        "entry_faults": entry_faults,
        "request_faults": draw(st.sets(st.integers(0, 12), max_size=3)),
        "dlq_down": draw(st.sampled_from([0, 0, 1, 2, 3, 10])),
        "max_attempts": draw(st.integers(1, 4)),
        "remaining_ms": draw(st.sampled_from([100, 2000, 60_000])),
        "per_call_ms": draw(st.sampled_from([0, 50, 300])),
        "concurrency": draw(st.integers(1, 6)),
        "detail_format": draw(st.sampled_from(event_schema.FORMATS)),
        "claim_check": draw(st.booleans()),
        "s3_down": draw(st.sampled_from([0, 0, 1, 5])),
    }


class CheckedEvents(MemoryBus):
    """The in-memory bus, validating every entry it accepts against the event schema."""

    def __init__(self, fmt: str, *args: object) -> None:
        super().__init__(*args)
        self.fmt = fmt
        self.pointer_keys: list[str] = []

    def put_events(self, Entries: list[dict]) -> dict:
        result = super().put_events(Entries)
        for entry, outcome in zip(Entries, result["Entries"], strict=True):
            if "ErrorCode" not in outcome:
                event = event_schema.envelope(entry)
                event_schema.assert_valid(event, self.fmt)
                if "claimCheck" in event["detail"]:
                    self.pointer_keys.append(event["detail"]["claimCheck"]["key"])
        return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_record_is_published_parked_or_redelivered(case: dict) -> None:
    records = case["records"]
    events = CheckedEvents(case["detail_format"], case["entry_faults"], case["request_faults"])
    s3 = MemoryS3(case["s3_down"])
    sqs = MemorySqs(case["dlq_down"])
    config = Settings(
        event_bus_name="fanoutBus",
        dlq_url="https://sqs.local/1/dlq",
        max_attempts=case["max_attempts"],
        max_event_bytes=2000,
        publish_concurrency=case["concurrency"],
        detail_format=case["detail_format"],
        large_event_bucket="large-events" if case["claim_check"] else None,
    )
    runtime = memory_runtime(config, events, sqs, s3 if case["claim_check"] else None)
    context = Context(case["remaining_ms"], case["per_call_ms"])

    response = process(streams.batch(*records), context, runtime)

    reported = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    published = set(events.published)
    parked = {body["record"].get("eventID") for body in sqs.bodies}
    assert len(events.published) == len(published), "nothing published twice"
    assert all(key in s3.objects for key in events.pointer_keys), "a pointer without its event"
    placed = [(r["eventID"] in published) + (r["eventID"] in parked) for r in records]
    assert all(count <= 1 for count in placed), "no record both published and parked"
    checkpoint = placed.index(0) if 0 in placed else len(records)
    assert all(placed[:checkpoint]), "every record before the checkpoint is placed"
    sequences = [r.get("dynamodb", {}).get("SequenceNumber", "") for r in records]
    if checkpoint == len(records):
        assert reported == []
    else:
        # the first unplaced record, then every later one that has a sequence number
        later = [s for s in sequences[checkpoint + 1 :] if s]
        assert reported == [sequences[checkpoint], *later]
