"""Packing: ≤ 10 entries and ≤ the size budget per request, in order, fewest requests."""

from __future__ import annotations

import math

import pytest

from fanout.batching import pack
from fanout.records import convert, decode
from fanout.settings import Settings
from tests.unit import streams

SETTINGS = Settings(event_bus_name="fanoutBus", dlq_url="https://q/1/dlq")


def entries(count: int, payload: str = "x") -> list:
    return [convert(decode(i, streams.insert(i, payload)), SETTINGS) for i in range(count)]


@pytest.mark.parametrize(
    ("count", "requests"), [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (100, 10), (101, 11)]
)
def test_ten_entries_per_request(count: int, requests: int) -> None:
    plan = pack(entries(count))
    assert [len(r.entries) for r in plan.requests][:1] == ([min(count, 10)] if count else [])
    assert len(plan.requests) == requests
    assert not plan.too_large


def test_order_is_kept() -> None:
    batch = entries(25)
    plan = pack(batch)
    assert [e for r in plan.requests for e in r.entries] == batch


def test_a_request_stays_strictly_under_the_budget() -> None:
    # AWS: "the total entry size must be less than" the limit
    batch = entries(4)
    total = sum(e.size for e in batch)
    assert len(pack(batch, max_bytes=total + 1).requests) == 1
    assert len(pack(batch, max_bytes=total).requests) == 2
    one = batch[0]
    assert pack([one], max_bytes=one.size).too_large == [one]
    assert pack([one], max_bytes=one.size + 1).too_large == []


def test_size_budget_splits_before_the_entry_limit() -> None:
    batch = entries(10, payload="p" * 1000)
    size = batch[0].size
    plan = pack(batch, max_bytes=size * 3 + 1)  # three entries fit, four do not
    assert [len(r.entries) for r in plan.requests] == [3, 3, 3, 1]
    assert all(r.size < size * 3 + 1 for r in plan.requests)
    assert len(plan.requests) == math.ceil(10 / 3)


def test_one_oversize_entry_among_small_ones_is_set_aside() -> None:
    small = entries(12)
    budget = 10 * max(e.size for e in small)
    big = convert(decode(99, streams.insert(99, "b" * budget)), SETTINGS)
    batch = [*small[:5], big, *small[5:]]
    plan = pack(batch, max_bytes=budget)
    assert plan.too_large == [big]
    assert [e for r in plan.requests for e in r.entries] == small
    assert [len(r.entries) for r in plan.requests] == [10, 2]


def test_default_budget_is_one_megabyte() -> None:
    batch = entries(10, payload="p" * 120_000)  # ~1.2 MB in all
    plan = pack(batch)
    assert all(r.size < 1024 * 1024 for r in plan.requests)
    assert [len(r.entries) for r in plan.requests] == [8, 2]
