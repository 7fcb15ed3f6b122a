"""The workload plan is exact and reproducible, and its writes respect BatchWriteItem's rules."""

from __future__ import annotations

from collections import Counter

import pytest

from localrun import workload


@pytest.mark.parametrize("records", [2, 3, 10, 101, 1000])
def test_plan_has_exactly_the_requested_number_of_changes(records):
    changes = workload.plan(records)
    assert len(changes) == records
    assert sum(1 for c in changes if c.key == workload.oversize_key("order")) == 1


def test_plan_mixes_inserts_updates_and_deletes_of_existing_items():
    changes = workload.plan(1000)
    kinds = Counter(c.event_name for c in changes)
    assert kinds["INSERT"] == 400 and kinds["MODIFY"] == 399 and kinds["REMOVE"] == 201
    live: set[str] = set()
    for change in changes:
        if change.event_name == "INSERT":
            assert change.key not in live
            live.add(change.key)
        else:
            assert change.key in live
            if change.event_name == "REMOVE":
                live.remove(change.key)


def test_plan_is_reproducible_by_seed():
    assert workload.plan(200, seed=5) == workload.plan(200, seed=5)
    assert workload.plan(200, seed=5) != workload.plan(200, seed=6)


def test_some_updates_are_paid_orders_for_the_billing_rule():
    statuses = Counter(c.status for c in workload.plan(1000) if c.event_name == "MODIFY")
    assert statuses["PAID"] > 50
    assert set(statuses) == set(workload.STATUSES_AFTER_NEW)


def test_oversize_item_is_over_256_kb_and_under_the_dynamodb_item_limit():
    item = workload.oversize_item("k")
    size = sum(len(k) + len(str(v)) for k, v in item.items())
    assert 262_144 < size < 400_000


class FakeDynamoDB:
    """Accepts batch writes, leaving the last request unprocessed once."""

    def __init__(self) -> None:
        self.calls: list[list[dict]] = []
        self.throttled = False

    def batch_write_item(self, RequestItems):
        (requests,) = RequestItems.values()
        self.calls.append(requests)
        if not self.throttled and len(requests) > 1:
            self.throttled = True
            return {"UnprocessedItems": {"t": requests[-1:]}}
        return {"UnprocessedItems": {}}


def test_write_batches_distinct_keys_and_resends_unprocessed_items():
    changes = workload.plan(120)
    ddb = FakeDynamoDB()
    seen: list[int] = []
    workload.write(ddb, "t", changes, seen.append)
    assert seen[-1] == len(changes)
    for requests in ddb.calls:
        assert len(requests) <= workload.BATCH_WRITE_MAX
        keys = [
            next(iter(r.values()))["Key" if "DeleteRequest" in r else "Item"]["pk"]["S"]
            for r in requests
        ]
        assert len(keys) == len(set(keys))
    assert sum(len(r) for r in ddb.calls) == len(changes) + 1  # one resent
