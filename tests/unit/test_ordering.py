"""Per-item order on the new custom event bus: bounded group ids, the sequencer, the handler."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from fanout import Envelope, convert, decode, process
from fanout.ordering import GroupSequencer, deduplication_id, event_group, group_of_raw
from fanout.runtime import ORDERED_LOOKAHEAD
from fanout.transport import OrderedTransport
from tests.support import streams
from tests.support.bus_v2 import MemoryBusV2
from tests.support.clocks import Context
from tests.support.runtimes import BUS_V2, memory_runtime, settings
from tests.support.s3 import MemoryS3
from tests.support.sqs import MemorySqs
from tests.support.streams import change

SETTINGS = settings(BUS_V2)
TRANSPORT = OrderedTransport(None, BUS_V2, SETTINGS.event_groups)


def envelope_of(raw: dict[str, Any], index: int = 0) -> Envelope:
    return TRANSPORT.wrap(convert(decode(index, raw), SETTINGS))


# --- group ids ---------------------------------------------------------------------------


def test_group_id_is_the_table_and_a_bucket_of_the_item_key() -> None:
    keys = {"sk": {"N": "12"}, "pk": {"S": "customer#7"}}
    envelope = envelope_of(change(1, 0, keys))
    table, bucket = envelope.group.split("#")
    assert table == "Orders" and 0 <= int(bucket) < SETTINGS.event_groups
    assert envelope.dedup == "event-1"


def test_every_change_of_an_item_has_its_group_whatever_the_key_order() -> None:
    a = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    b = {"sk": {"S": "b"}, "pk": {"S": "a"}}
    assert envelope_of(change(1, 0, a)).group == envelope_of(change(2, 0, b)).group


def test_groups_are_bounded_and_spread() -> None:
    groups = Counter(event_group("Orders", {"pk": {"S": f"o-{i}"}}, 50) for i in range(5000))
    assert len(groups) == 50  # every bucket used, no more
    assert max(groups.values()) < 2 * 5000 / 50  # no bucket takes twice its share


def test_binary_keys_read_the_same_from_lambda_or_boto3() -> None:
    from_lambda = envelope_of(change(1, 0, {"pk": {"B": "AAEC"}})).group
    from_boto3 = envelope_of(change(2, 0, {"pk": {"B": b"\x00\x01\x02"}})).group
    assert from_lambda == from_boto3


@pytest.mark.parametrize(
    "keys", [{}, {"pk": []}, {"pk": "untyped"}, {"pk": {"S": "a", "N": "1"}}, {"pk": {"S": None}}]
)
def test_odd_keys_still_have_a_group_and_never_raise(keys: dict[str, Any]) -> None:
    raw = change(1, 0)
    raw["dynamodb"]["Keys"] = keys
    group = group_of_raw(raw, SETTINGS.event_groups)
    assert group is not None and group.startswith("Orders#")
    raw_settings = settings(BUS_V2, detail_format="raw")
    assert TRANSPORT.wrap(convert(decode(0, raw), raw_settings)).group == group


def test_a_long_table_name_still_fits() -> None:
    long = "t" * 255
    group = event_group(long, {"pk": {"S": "a"}}, 10_000)
    assert len(group) <= 128
    assert group != event_group(long[:-1] + "u", {"pk": {"S": "a"}}, 10_000)


def test_deduplication_id_falls_back_to_the_sequence_number() -> None:
    raw = change(7, 0)
    raw["eventID"] = "  "
    assert deduplication_id(decode(0, raw)) == f"Orders:{7:021d}"
    raw["eventID"] = "e" * 129
    assert deduplication_id(decode(0, raw)) == f"Orders:{7:021d}"


def test_size_counts_the_system_metadata() -> None:
    envelope = envelope_of(change(1, 0))
    assert envelope.entry is not None and envelope.group is not None
    assert envelope.size == envelope.entry.size + len(envelope.group) + len(envelope.dedup or "")


# --- the sequencer ---------------------------------------------------------------------


def sequencer(records: list[dict[str, Any]], max_bytes: int = 1 << 20) -> GroupSequencer:
    sequence = GroupSequencer(max_bytes, 100, ORDERED_LOOKAHEAD)
    for index, raw in enumerate(records):
        sequence.add(envelope_of(raw, index))
    return sequence


def indices(envelopes: list[Envelope]) -> list[int]:
    return [e.index for e in envelopes]


def items(count: int) -> list[int]:
    """Item numbers whose keys fall in ``count`` different groups (the tests need them apart)."""
    found: dict[str, int] = {}
    item = 0
    while len(found) < count:
        found.setdefault(envelope_of(change(0, item)).group or "", item)
        item += 1
    return list(found.values())


def test_a_request_holds_at_most_one_entry_per_group() -> None:
    a, b, c = items(3)
    sequence = sequencer([change(i, (a, b, c)[i % 3]) for i in range(9)])
    first = sequence.next_request(100)
    assert indices(first) == [0, 1, 2]
    assert sequence.next_request(100) == []  # every group is in flight
    for envelope in first:
        sequence.settle(envelope, published=True)
    assert indices(sequence.next_request(100)) == [3, 4, 5]


def test_an_unpublished_entry_holds_back_the_rest_of_its_group_only() -> None:
    a, b = items(2)
    sequence = sequencer([change(i, (a, b)[i % 2]) for i in range(6)])
    first = sequence.next_request(100)
    sequence.settle(first[0], published=False)  # item a's first change failed
    sequence.settle(first[1], published=True)
    assert indices(sequence.next_request(100)) == [3]
    assert indices(sequence.unsent) == [2, 4] and sequence.held_back == 2
    sequence.add(envelope_of(change(6, a), 6))  # a later change of a, converted later
    assert indices(sequence.unsent) == [2, 4, 6] and sequence.held_back == 3


def test_an_unsendable_record_stops_its_group_in_its_place() -> None:
    records = [change(i, 0) for i in range(4)]
    sequence = GroupSequencer(1 << 20, 100, ORDERED_LOOKAHEAD)
    for index, raw in enumerate(records):
        envelope = envelope_of(raw, index)
        if index == 1:
            envelope.deferred = "S3 PutObject: SlowDown"
        sequence.add(envelope)
    head = sequence.next_request(100)
    assert indices(head) == [0]
    sequence.settle(head[0], published=True)
    assert sequence.next_request(100) == []
    assert indices(sequence.reached) == [1]
    assert indices(sequence.unsent) == [2, 3]


def test_requests_stay_within_the_entry_size_and_room_budget() -> None:
    records = [change(i, item) for i, item in enumerate(items(150))]
    sizes = [envelope_of(raw, i).size for i, raw in enumerate(records)]
    thirty = sum(sizes[:30])
    assert len(sequencer(records, max_bytes=thirty + 1).next_request(100)) == 30
    assert len(sequencer(records, max_bytes=thirty).next_request(100)) == 29  # strictly under
    assert len(sequencer(records).next_request(100)) == 100
    assert len(sequencer(records).next_request(7)) == 7


def test_the_look_ahead_is_bounded() -> None:
    one_item = GroupSequencer(1 << 20, 100, lookahead=5)
    for index in range(5):
        assert one_item.wants_more()
        one_item.add(envelope_of(change(index, 0), index))
    assert not one_item.wants_more()  # five changes of one item queued: enough to go on


# --- in the handler ------------------------------------------------------------------------


def ordered_runtime(events: MemoryBusV2, concurrency: int = 8, s3: Any = None, **overrides: Any):
    config = settings(BUS_V2, publish_concurrency=concurrency, **overrides)
    return memory_runtime(config, events, MemorySqs(), s3)


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("layout", ["item by item", "interleaved"])
def test_1000_records_of_200_items_take_the_fewest_requests(concurrency: int, layout: str) -> None:
    if layout == "item by item":
        pairs = [(item, n) for item in range(200) for n in range(5)]
    else:
        pairs = [(item, n) for n in range(5) for item in range(200)]
    records = [change(seq, item) for seq, (item, _) in enumerate(pairs)]
    groups = 1_000_000  # so that no two of the 200 items share a group
    wrap = OrderedTransport(None, BUS_V2, groups).wrap
    assert len({wrap(convert(decode(0, change(0, i)), SETTINGS)).group for i in range(200)}) == 200
    events = MemoryBusV2()

    runtime = ordered_runtime(events, concurrency, event_groups=groups)
    response = process(streams.batch(*records), Context(), runtime)

    assert response == {"batchItemFailures": []}
    assert events.calls <= 10  # 100 entries a request, one change of an item at a time
    for item in range(200):
        group = wrap(convert(decode(0, change(0, item)), SETTINGS)).group
        assert events.log[group] == [f"event-{s}" for s, (i, _) in enumerate(pairs) if i == item]


def test_items_sharing_a_group_keep_their_order_and_cost_little() -> None:
    pairs = [(item, n) for n in range(5) for item in range(200)]
    records = [change(seq, item) for seq, (item, _) in enumerate(pairs)]
    events = MemoryBusV2()
    runtime = ordered_runtime(events, event_groups=20)  # ten items in every group

    assert process(streams.batch(*records), Context(), runtime) == {"batchItemFailures": []}

    by_group: dict[str, list[str]] = {}
    for seq, raw in enumerate(records):
        group = OrderedTransport(None, BUS_V2, 20).wrap(convert(decode(0, raw), SETTINGS)).group
        by_group.setdefault(group or "", []).append(f"event-{seq}")
    assert {g: events.log[g] for g in by_group} == by_group  # each group in stream order
    assert events.calls == max(len(changes) for changes in by_group.values())


def test_handler_emits_deduplicated_and_held_back(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = items(2)
    records = [change(i, (a, b)[i % 2]) for i in range(6)]
    events = MemoryBusV2(entry_faults={"event-0": ["InvalidInputException"]})
    events.dedup.add("event-1")  # published by an earlier invocation
    response = process(streams.batch(*records), Context(), ordered_runtime(events))

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["Published"], line["Deduplicated"], line["HeldBack"]) == (3, 1, 2)
    assert line["DeadLetteredByReason"] == {"PutEventsRejected": 1}
    # item a's later changes come again, after its first was parked
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{2:021d}"
    assert events.log[envelope_of(records[0]).group] == []


def test_a_large_change_is_claim_checked_in_its_place_before_the_later_ones() -> None:
    a, b = items(2)
    records = [change(0, a), change(1, a, payload="p" * 4000), change(2, a), change(3, b)]
    events = MemoryBusV2()
    s3 = MemoryS3()
    runtime = ordered_runtime(events, s3=s3, max_event_bytes=3000, large_event_bucket="large")

    response = process(streams.batch(*records), Context(), runtime)

    assert response == {"batchItemFailures": []}
    assert events.log[envelope_of(records[0]).group] == ["event-0", "event-1", "event-2"]
    [key] = s3.objects
    assert key.startswith("large-events/Orders/event-1-") and key.endswith(".json")


def test_a_change_whose_claim_check_fails_for_now_holds_back_its_item() -> None:
    a, b = items(2)
    records = [change(0, a), change(1, a, payload="p" * 4000), change(2, a), change(3, b)]
    events = MemoryBusV2()
    runtime = ordered_runtime(
        events, s3=MemoryS3(99, "SlowDown"), max_event_bytes=3000, large_event_bucket="large"
    )

    response = process(streams.batch(*records), Context(), runtime)

    # not parked as EventTooLarge: it and what follows come again, item a's order kept
    assert runtime.dead_letters.client.bodies == []
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{1:021d}"
    assert events.log[envelope_of(records[0]).group] == ["event-0"]
    assert "event-2" not in events.dedup and "event-3" in events.dedup


def test_a_malformed_change_holds_back_the_later_changes_of_its_item() -> None:
    a, b = items(2)
    records = [change(0, a), change(1, a), change(2, a), change(3, b)]
    records[1]["dynamodb"]["NewImage"]["n"] = {"N": "not a number"}  # fails conversion
    events = MemoryBusV2()
    runtime = ordered_runtime(events)

    response = process(streams.batch(*records), Context(), runtime)

    [parked] = runtime.dead_letters.client.bodies
    assert parked["reason"] == "MalformedRecord" and parked["record"]["eventID"] == "event-1"
    # event-2 is not published ahead of the parked change: it comes again
    assert events.log[envelope_of(records[0]).group] == ["event-0"]
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{2:021d}"


@pytest.mark.parametrize("fmt", ["plain", "raw", "both"])
def test_no_record_shape_raises_on_the_ordered_bus(fmt: str) -> None:
    records = [change(i, i) for i in range(6)]
    records[1]["dynamodb"]["Keys"] = {}
    records[2]["dynamodb"]["Keys"] = {"pk": ["a", "list"]}
    records[3]["dynamodb"]["Keys"] = {"pk": "untyped"}
    records[4]["dynamodb"]["Keys"] = []
    events = MemoryBusV2()
    runtime = ordered_runtime(events, detail_format=fmt)

    response = process(streams.batch(*records), Context(), runtime)

    parked = {b["record"]["eventID"] for b in runtime.dead_letters.client.bodies}
    published = set(events.dedup)
    assert response == {"batchItemFailures": []}
    assert parked | published == {r["eventID"] for r in records} and not parked & published


def test_throttling_on_the_ordered_bus_is_back_pressure_not_a_dead_letter() -> None:
    # five throttles in a row: more than MAX_ATTEMPTS (3), retried because time allows
    a, b = items(2)
    records = [change(i, (a, b)[i % 2]) for i in range(4)]
    events = MemoryBusV2(entry_faults={"event-0": ["ThrottlingException"] * 5})
    runtime = ordered_runtime(events)

    response = process(streams.batch(*records), Context(remaining_ms=30_000), runtime)

    assert response == {"batchItemFailures": []}
    assert runtime.dead_letters.client.bodies == []
    assert events.log[envelope_of(records[0]).group] == ["event-0", "event-2"]


def test_retryable_failures_out_of_attempts_are_reported_back_in_order() -> None:
    a, b = items(2)
    records = [change(i, (a, b)[i % 2]) for i in range(4)]
    events = MemoryBusV2(entry_faults={"event-0": ["InternalException"] * 3})

    runtime = ordered_runtime(events)
    response = process(streams.batch(*records), Context(remaining_ms=30_000), runtime)

    # event-0 could still succeed: it and everything after it come again; nothing parked
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{0:021d}"
    assert runtime.dead_letters.client.bodies == []
    assert events.log[envelope_of(records[0]).group] == []
