"""The partial-batch response: what Lambda must deliver again.

Lambda re-delivers a stream batch from the lowest sequence number reported,
so the first record that is neither published nor parked is reported, and
every record after it, to say plainly that all of them come again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fanout.records import sequence_number_of


def batch_item_failures(records: Sequence[Any], accounted: set[int]) -> dict[str, list]:
    """{"batchItemFailures": [...]} from the first unaccounted record onwards.

    A record without a sequence number is reported with an empty identifier,
    which makes Lambda retry the whole batch: better than losing it.
    """
    first = next((i for i in range(len(records)) if i not in accounted), None)
    if first is None:
        return {"batchItemFailures": []}
    return {
        "batchItemFailures": [
            {"itemIdentifier": sequence_number_of(records[i]) or ""}
            for i in range(first, len(records))
        ]
    }
