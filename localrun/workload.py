"""A reproducible mix of order changes to drive the fan-out: inserts, updates, deletes.

The plan is built first (pure, seeded) and written afterwards, so a test can
say exactly which stream records to expect: every write makes one record, an
update whose new status is PAID is what the billing rule selects, and the
oversize item is bigger than the handler's event budget. Writes go through
BatchWriteItem (25 puts/deletes per call, never the same key twice in one
call) because that is what bulk loaders do and it keeps moto busy, not HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

BATCH_WRITE_MAX = 25  # DynamoDB BatchWriteItem limit
STATUSES_AFTER_NEW = ("PAID", "PACKED", "CANCELLED")
OVERSIZE_BYTES = 300_000  # above a 256 KB budget, below DynamoDB's 400 KB item limit
# 38 significant digits: DynamoDB keeps them all, and so must the published event.
LEDGER_REF = "12345678901234567890123456789012345678"


@dataclass(frozen=True)
class Change:
    """One write, and so one stream record: INSERT, MODIFY or REMOVE of order ``key``."""

    event_name: str
    key: str
    item: dict[str, Any] | None  # DynamoDB JSON for puts, None for deletes

    @property
    def status(self) -> str | None:
        return None if self.item is None else self.item["status"]["S"]


def order_item(key: str, status: str, amount_cents: int, revision: int) -> dict[str, Any]:
    """An order as DynamoDB JSON, with the types consumers meet in practice."""
    return {
        "pk": {"S": key},
        "status": {"S": status},
        "amount": {"N": f"{amount_cents / 100:.2f}"},
        "revision": {"N": str(revision)},
        "ledgerRef": {"N": LEDGER_REF},
        "lines": {"L": [{"M": {"sku": {"S": f"sku-{amount_cents % 97}"}, "qty": {"N": "1"}}}]},
        "tags": {"SS": ["local", "demo"]},
        "gift": {"BOOL": revision % 2 == 0},
        "note": {"NULL": True},
    }


def oversize_key(prefix: str) -> str:
    return f"{prefix}-oversize"


def oversize_item(key: str) -> dict[str, Any]:
    item = order_item(key, "NEW", 100, 0)
    item["attachment"] = {"S": "x" * OVERSIZE_BYTES}
    return item


def plan(records: int, seed: int = 7, oversize: bool = True, prefix: str = "order") -> list[Change]:
    """Exactly ``records`` changes: ~40% inserts, ~40% updates, ~20% deletes, one oversize.

    Inserts come first, then updates (round-robin over the orders), then deletes
    of the oldest orders, so every update and delete hits an existing item.
    """
    if records < 1:
        raise ValueError("records must be at least 1")
    rng = random.Random(seed)
    regular = records - 1 if oversize else records
    inserts = max(1, (regular * 2) // 5) if regular else 0
    updates = (regular * 2) // 5
    deletes = regular - inserts - updates
    deletes = min(deletes, inserts)
    updates = regular - inserts - deletes
    keys = [f"{prefix}-{i:05d}" for i in range(inserts)]
    changes = [Change("INSERT", k, order_item(k, "NEW", rng.randint(100, 99999), 0)) for k in keys]
    for n in range(updates):
        key = keys[n % inserts]
        status = rng.choice(STATUSES_AFTER_NEW)
        revision = n // inserts + 1
        changes.append(
            Change("MODIFY", key, order_item(key, status, rng.randint(100, 99999), revision))
        )
    changes += [Change("REMOVE", key, None) for key in keys[:deletes]]
    if oversize:
        key = oversize_key(prefix)
        changes.insert(inserts // 2, Change("INSERT", key, oversize_item(key)))
    return changes


def _chunks(changes: list[Change]) -> Iterator[list[Change]]:
    """Runs of at most 25 changes with distinct keys, in order."""
    chunk: list[Change] = []
    for change in changes:
        if len(chunk) == BATCH_WRITE_MAX or any(c.key == change.key for c in chunk):
            yield chunk
            chunk = []
        chunk.append(change)
    if chunk:
        yield chunk


def _request(change: Change) -> dict[str, Any]:
    if change.item is None:
        return {"DeleteRequest": {"Key": {"pk": {"S": change.key}}}}
    return {"PutRequest": {"Item": change.item}}


def write(
    dynamodb: Any,
    table: str,
    changes: list[Change],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Apply the changes in order; resend anything DynamoDB reports unprocessed."""
    written = 0
    for chunk in _chunks(changes):
        requests = {table: [_request(c) for c in chunk]}
        while requests:
            response = dynamodb.batch_write_item(RequestItems=requests)
            requests = response.get("UnprocessedItems") or {}
        written += len(chunk)
        if progress:
            progress(written)
