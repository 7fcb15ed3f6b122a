"""Packing on the classic bus: ≤ 10 entries under the size budget a request, in order, fewest."""

from __future__ import annotations

import math

import pytest

from fanout import Entry, Envelope, Settings, convert, decode
from fanout.batching import Budget, RequestQueue
from tests.support import streams

SETTINGS = Settings(event_bus_name="fanoutBus", dlq_url="https://q/1/dlq")


def entries(count: int, payload: str = "x") -> list[Entry]:
    return [convert(decode(i, streams.insert(i, payload)), SETTINGS) for i in range(count)]


def pack(batch: list[Entry], max_bytes: int = 1024 * 1024, room: int = 10) -> list[list[Entry]]:
    """Every request the queue hands out for the batch, in order."""
    queue = RequestQueue(max_bytes)
    for entry in batch:
        queue.add(Envelope(entry.record.index, entry.record.raw, entry, entry.size))
    requests = []
    while request := queue.next_request(room):
        requests.append([envelope.entry for envelope in request])
    return requests


@pytest.mark.parametrize(
    ("count", "requests"), [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (100, 10), (101, 11)]
)
def test_ten_entries_per_request(count: int, requests: int) -> None:
    plan = pack(entries(count))
    assert [len(r) for r in plan][:1] == ([min(count, 10)] if count else [])
    assert len(plan) == requests


def test_order_is_kept() -> None:
    batch = entries(25)
    assert [e for r in pack(batch) for e in r] == batch


def test_a_request_stays_strictly_under_the_budget() -> None:
    # AWS: "the total entry size must be less than" the limit
    batch = entries(4)
    total = sum(e.size for e in batch)
    assert len(pack(batch, max_bytes=total + 1)) == 1
    assert len(pack(batch, max_bytes=total)) == 2
    budget = Budget(max_bytes=batch[0].size)
    assert not budget.admits(batch[0].size)


def test_size_budget_splits_before_the_entry_limit() -> None:
    batch = entries(10, payload="p" * 1000)
    size = batch[0].size
    plan = pack(batch, max_bytes=size * 3 + 1)  # three entries fit, four do not
    assert [len(r) for r in plan] == [3, 3, 3, 1]
    assert len(plan) == math.ceil(10 / 3)


def test_a_request_is_no_larger_than_the_rate_leaves_room_for() -> None:
    # under a low quota with little time, a smaller request goes instead of none
    assert [len(r) for r in pack(entries(10), room=4)] == [4, 4, 2]


def test_unsendable_envelopes_are_handed_back_at_once() -> None:
    queue = RequestQueue(1024 * 1024)
    entry = entries(1)[0]
    parked = Envelope(0, entry.record.raw, deferred="S3 PutObject: SlowDown")
    queue.add(parked)
    assert queue.reached == [parked] and queue.next_request(10) == []


def test_default_budget_is_one_megabyte() -> None:
    batch = entries(10, payload="p" * 120_000)  # ~1.2 MB in all
    plan = pack(batch)
    assert [len(r) for r in plan] == [8, 2]
