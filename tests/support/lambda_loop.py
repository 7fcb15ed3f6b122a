"""Lambda's event source mapping for one shard, by its documented rules, around any handler.

Redelivers from the lowest reported sequence number ("Configuring partial
batch response with DynamoDB and Lambda"); counts every partial response as
a retry, even one that moved the checkpoint (the worst case the
documentation allows); skips the rest of the batch after
``maximum_retry_attempts`` retries, or a batch holding a record older than
``maximum_record_age_in_seconds`` (metadata to the on-failure destination,
the records lost to the function).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Invoke = Callable[[list[dict[str, Any]], int], dict[str, Any]]  # (batch, invocation) -> response


class EventSourceMapping:
    """Feeds ``records`` to a handler in batches until it reports nothing, or gives up."""

    def __init__(
        self,
        records: list[dict[str, Any]],
        batch_size: int = 100,
        retries: int | None = None,
        max_age_s: int | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.records = records
        self.batch_size = batch_size
        self.retries = retries
        self.max_age_s = max_age_s
        self.clock = clock
        self.skipped: list[str] = []  # eventIDs the mapping gave up on
        self.invocations = 0

    def run(self, invoke: Invoke, max_invocations: int = 200) -> bool:
        """True once every record was acknowledged (or skipped); False if it never drained."""
        checkpoint, failed_in_a_row = 0, 0
        while checkpoint < len(self.records):
            if self.invocations >= max_invocations:
                return False
            batch = self.records[checkpoint : checkpoint + self.batch_size]
            if self._too_old(batch):
                self.skipped += [r["eventID"] for r in batch]
                checkpoint += len(batch)
                continue
            response = invoke(batch, self.invocations)
            self.invocations += 1
            reported = [f["itemIdentifier"] for f in response.get("batchItemFailures") or []]
            if not reported:
                checkpoint += len(batch)
                failed_in_a_row = 0
                continue
            moved = self._position(batch, min(reported))
            assert moved >= 0, "reported a record that is not in the batch"
            checkpoint += moved
            failed_in_a_row += 1
            if self.retries is not None and failed_in_a_row > self.retries:
                end = checkpoint + self.batch_size
                self.skipped += [r["eventID"] for r in self.records[checkpoint:end]]
                checkpoint = end
                failed_in_a_row = 0
        return True

    def _too_old(self, batch: list[dict[str, Any]]) -> bool:
        if self.max_age_s is None or self.clock is None:
            return False
        now = self.clock()
        return any(
            now - r["dynamodb"]["ApproximateCreationDateTime"] > self.max_age_s for r in batch
        )

    @staticmethod
    def _position(batch: list[dict[str, Any]], sequence: str) -> int:
        """Where Lambda restarts: the record with that sequence number ('' : the whole batch)."""
        for i, record in enumerate(batch):
            if record.get("dynamodb", {}).get("SequenceNumber") == sequence:
                return i
        return 0 if sequence == "" else -1
