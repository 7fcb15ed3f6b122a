"""The partial-batch response: what Lambda must deliver again.

Lambda re-delivers a stream batch from the lowest sequence number reported,
so the first record that is neither published nor parked is reported, and
every record after it that has a sequence number, to say plainly that all of
them come again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fanout.records import sequence_number_of


def batch_item_failures(records: Sequence[Any], accounted: set[int]) -> dict[str, list]:
    """{"batchItemFailures": [...]} from the first unaccounted record onwards.

    Only if that first record has no sequence number is it reported with an
    empty identifier, which makes Lambda retry the whole batch: better than
    losing it. Later records without one are left out, as an empty identifier
    anywhere fails the whole batch.
    """
    first = next((i for i in range(len(records)) if i not in accounted), None)
    if first is None:
        return {"batchItemFailures": []}
    checkpoint = sequence_number_of(records[first]) or ""
    failures = [{"itemIdentifier": checkpoint}]
    for record in records[first + 1 :]:  # up to 10,000: one pass, no intermediate lists
        sequence = sequence_number_of(record)
        if sequence:
            failures.append({"itemIdentifier": sequence})
    return {"batchItemFailures": failures}


def reported_count(records: Sequence[Any], accounted: set[int]) -> int:
    """Records delivered again that are neither published nor parked yet."""
    first = next((i for i in range(len(records)) if i not in accounted), None)
    if first is None:
        return 0
    return sum(1 for i in range(first, len(records)) if i not in accounted)
