"""Per-item order on the new custom event bus: group ids, the sequencer, the request figure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fanout import limits
from fanout.claim_check import ClaimCheck
from fanout.dead_letter import DeadLetterQueue
from fanout.eventbridge_v2 import OrderedPublisher
from fanout.handler import Runtime, process
from fanout.ordering import Ordered, Sequencer, deduplication_id, ordered
from fanout.records import convert, decode
from fanout.settings import Settings
from tests.unit import streams
from tests.unit.conftest import Context
from tests.unit.memory import MemorySqs
from tests.unit.memory_v2 import MemoryEventsV2
from tests.unit.test_properties import MemoryS3

BUS_V2 = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
SETTINGS = Settings(event_bus_name=BUS_V2, dlq_url="https://sqs.local/1/dlq")


def change(
    seq: int, item: int, keys: dict[str, Any] | None = None, payload: str = "x"
) -> dict[str, Any]:
    """A MODIFY of item ``item``; ``seq`` orders the stream."""
    keys = keys or {"pk": {"S": f"item-{item}"}}
    new = {**keys, "n": {"N": str(seq)}, "payload": {"S": payload}}
    return streams.record(seq, "MODIFY", keys=keys, new=new)


def entry_of(raw: dict[str, Any], index: int = 0) -> Ordered:
    return ordered(convert(decode(index, raw), SETTINGS))


def test_group_id_is_table_and_key_readable_when_short() -> None:
    keys = {"sk": {"N": "12"}, "pk": {"S": "customer#7"}}
    item = entry_of(change(1, 0, keys))
    assert item.group == "Orders:pk=customer#7,sk=12"
    assert item.dedup == "event-1"


def test_group_id_is_stable_and_ignores_key_order() -> None:
    a = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    b = {"sk": {"S": "b"}, "pk": {"S": "a"}}
    assert entry_of(change(1, 0, a)).group == entry_of(change(2, 0, b)).group


def test_separators_in_values_cannot_make_two_keys_read_the_same() -> None:
    one = {"pk": {"S": "a"}, "sk": {"S": "b,sk=c"}}
    two = {"pk": {"S": "a,sk=b"}, "sk": {"S": "c"}}
    assert entry_of(change(1, 0, one)).group != entry_of(change(2, 0, two)).group


@pytest.mark.parametrize(
    "value",
    ["x" * 200, "with space", "ünïcode", "tab\there"],
    ids=["long", "space", "non-ascii", "control"],
)
def test_long_or_unprintable_keys_are_hashed_within_128_characters(value: str) -> None:
    group = entry_of(change(1, 0, {"pk": {"S": value}})).group
    assert len(group) <= limits.EVENT_GROUP_ID_MAX_CHARS
    assert group.startswith("Orders:#") and len(group.split("#")[1]) == 64
    assert all("!" <= c <= "~" for c in group)
    other = entry_of(change(2, 0, {"pk": {"S": value + "!"}})).group
    assert other != group and other == entry_of(change(3, 0, {"pk": {"S": value + "!"}})).group


def test_binary_keys_read_as_base64_from_lambda_or_boto3() -> None:
    from_lambda = entry_of(change(1, 0, {"pk": {"B": "AAEC"}})).group
    from_boto3 = entry_of(change(2, 0, {"pk": {"B": b"\x00\x01\x02"}})).group
    assert from_lambda == from_boto3 == "Orders:pk=AAEC"


def test_a_long_table_name_still_fits() -> None:
    raw = change(1, 0)
    raw["eventSourceARN"] = raw["eventSourceARN"].replace("table/Orders", "table/" + "t" * 255)
    group = entry_of(raw).group
    assert len(group) <= limits.EVENT_GROUP_ID_MAX_CHARS


def test_deduplication_id_falls_back_to_the_sequence_number() -> None:
    raw = change(7, 0)
    raw["eventID"] = "  "
    record = decode(0, raw)
    assert deduplication_id(record) == f"Orders:{7:021d}"
    raw["eventID"] = "e" * 129
    assert deduplication_id(decode(0, raw)) == f"Orders:{7:021d}"


def test_size_counts_the_system_metadata() -> None:
    item = entry_of(change(1, 0))
    assert item.size == item.entry.size + len(item.group) + len(item.dedup)


def items(records: list[dict[str, Any]]) -> list[Ordered]:
    return [entry_of(raw, index) for index, raw in enumerate(records)]


def test_a_request_holds_at_most_one_entry_per_group() -> None:
    sequencer = Sequencer(items([change(i, i % 3) for i in range(9)]))
    first = sequencer.next_request()
    assert [i.index for i in first] == [0, 1, 2]
    assert sequencer.next_request() == []  # every group is in flight
    for item in first:
        sequencer.settle(item, published=True)
    assert [i.index for i in sequencer.next_request()] == [3, 4, 5]


def test_an_unpublished_entry_holds_back_the_rest_of_its_group_only() -> None:
    sequencer = Sequencer(items([change(i, i % 2) for i in range(6)]))
    first = sequencer.next_request()
    sequencer.settle(first[0], published=False)  # item 0's first change failed
    sequencer.settle(first[1], published=True)
    assert [i.index for i in sequencer.next_request()] == [3]
    assert [i.index for i in sequencer.held] == [2, 4]


def test_an_unsendable_entry_stops_its_group_where_it_stands() -> None:
    sequence = items([change(i, 0) for i in range(4)])
    sequence[1] = sequence[1].unsendable()
    sequencer = Sequencer(sequence)
    head = sequencer.next_request()
    assert [i.index for i in head] == [0]
    sequencer.settle(head[0], published=True)
    assert sequencer.next_request() == []
    assert [i.index for i in sequencer.stopped] == [1]
    assert [i.index for i in sequencer.held] == [2, 3]


def test_requests_stay_within_the_entry_and_size_budget() -> None:
    sequence = items([change(i, i) for i in range(250)])
    thirty = sum(item.size for item in sequence[:30])
    assert len(Sequencer(sequence, max_bytes=thirty + 1).next_request()) == 30
    assert len(Sequencer(sequence, max_bytes=thirty).next_request()) == 29  # strictly under
    sequencer = Sequencer(sequence)
    assert len(sequencer.next_request()) == limits.PUT_EVENTS_V2_MAX_ENTRIES


def test_an_entry_over_the_budget_alone_is_stopped_not_looped_on() -> None:
    sequence = items([change(0, 0), change(1, 1)])
    sequencer = Sequencer(sequence, max_bytes=sequence[0].size)
    assert sequencer.next_request() == []
    assert [i.index for i in sequencer.stopped] == [0, 1]


def ordered_runtime(events: MemoryEventsV2, concurrency: int = 8, **overrides: Any) -> Runtime:
    config = Settings(
        event_bus_name=BUS_V2,
        dlq_url="https://sqs.local/1/dlq",
        publish_concurrency=concurrency,
        **overrides,
    )
    publisher = OrderedPublisher(
        events, BUS_V2, config.max_attempts, concurrency, sleep=lambda s: None
    )
    queue = DeadLetterQueue(
        MemorySqs(), config.dlq_url, config.dlq_max_bytes, BUS_V2, sleep=lambda s: None
    )
    return Runtime(config, publisher, queue)


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("layout", ["item by item", "interleaved"])
def test_1000_records_of_200_items_take_at_most_10_requests(concurrency: int, layout: str) -> None:
    if layout == "item by item":
        pairs = [(item, n) for item in range(200) for n in range(5)]
    else:
        pairs = [(item, n) for n in range(5) for item in range(200)]
    records = [change(seq, item) for seq, (item, _) in enumerate(pairs)]
    events = MemoryEventsV2()

    response = process(streams.batch(*records), Context(), ordered_runtime(events, concurrency))

    assert response == {"batchItemFailures": []}
    assert events.calls <= 10
    for item in range(200):
        expected = [f"event-{seq}" for seq, (i, _) in enumerate(pairs) if i == item]
        assert events.log[f"Orders:pk=item-{item}"] == expected


def test_handler_emits_deduplicated_and_held_back(capsys: pytest.CaptureFixture[str]) -> None:
    records = [change(i, i % 2) for i in range(6)]
    events = MemoryEventsV2(entry_faults={"event-0": ["InvalidInputException"]})
    events.dedup.add("event-1")  # published by an earlier invocation
    response = process(streams.batch(*records), Context(), ordered_runtime(events))

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["Published"], line["Deduplicated"], line["HeldBack"]) == (3, 1, 2)
    assert line["DeadLetteredByReason"] == {"PutEventsRejected": 1}
    # item 0's later changes come again, after its first was parked
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{2:021d}"
    assert events.log["Orders:pk=item-0"] == []


def test_a_large_change_is_claim_checked_in_its_place_before_the_later_ones() -> None:
    records = [change(0, 0), change(1, 0, payload="p" * 4000), change(2, 0), change(3, 1)]
    events = MemoryEventsV2()
    s3 = MemoryS3(0)
    runtime = ordered_runtime(events, max_event_bytes=3000, large_event_bucket="large-events")
    runtime = Runtime(
        runtime.settings,
        runtime.publisher,
        runtime.dead_letters,
        ClaimCheck(s3, "large-events", "large-events/", sleep=lambda s: None),
    )

    response = process(streams.batch(*records), Context(), runtime)

    assert response == {"batchItemFailures": []}
    assert events.log["Orders:pk=item-0"] == ["event-0", "event-1", "event-2"]
    [key] = s3.objects
    assert key.startswith("large-events/Orders/event-1-") and key.endswith(".json")


def test_throttling_on_the_ordered_bus_is_back_pressure_not_a_dead_letter() -> None:
    # five throttles in a row: more than MAX_ATTEMPTS (3), retried because time allows
    records = [change(i, i % 2) for i in range(4)]
    events = MemoryEventsV2(entry_faults={"event-0": ["ThrottlingException"] * 5})
    runtime = ordered_runtime(events)

    response = process(streams.batch(*records), Context(remaining_ms=30_000), runtime)

    assert response == {"batchItemFailures": []}
    assert runtime.dead_letters.client.bodies == []
    assert events.log["Orders:pk=item-0"] == ["event-0", "event-2"]


def test_retryable_failures_out_of_attempts_are_reported_back_in_order() -> None:
    records = [change(i, i % 2) for i in range(4)]
    events = MemoryEventsV2(entry_faults={"event-0": ["InternalException"] * 3})

    runtime = ordered_runtime(events)
    response = process(streams.batch(*records), Context(remaining_ms=30_000), runtime)

    # event-0 could still succeed: it and everything after it come again; nothing parked
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{0:021d}"
    assert runtime.dead_letters.client.bodies == []
    assert events.log["Orders:pk=item-0"] == []
