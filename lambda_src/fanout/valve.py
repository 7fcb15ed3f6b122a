"""The safety valve: park a retryable record instead of reporting it when the stream would drop it.

A record that could not be published in time is reported back, and Lambda
delivers it again from the stream, in order. But the event source mapping
gives up on a batch (metadata to the on-failure destination, the records
skipped) once a record is older than ``maximum_record_age_in_seconds`` or the
batch has been retried ``maximum_retry_attempts`` times. What AWS documents
("Configuring partial batch response with DynamoDB and Lambda", AWS Lambda
Developer Guide): a partial batch response is not a complete success, so
"Lambda treats all other results as a complete failure and retries processing
the batch up to the retry limit", from "the record with the lowest sequence
number as the checkpoint". It does not say that a checkpoint that moved
forward resets the count, and the count is kept by the mapping, which the
function cannot read.

So the valve parks what is left of the batch when

- the record's age at the next delivery (now, plus this invocation's time,
  plus a margin) would reach the maximum record age: the record's own
  ApproximateCreationDateTime says so in any execution environment, so this
  rule holds whichever environment Lambda picks and however often it starts
  a new one. It is the rule to rely on: the module's default retry limit is
  -1 (none), so the age is what bounds a batch's retries;
- or, when a retry limit is set, this execution environment has already
  reported the batch's first record (as the checkpoint of a run of
  consecutive partial responses) as often as that limit allows. Every
  partial response counts, even one that moved the checkpoint (the worst
  case the documentation allows). This rule sees only the reports made by
  this environment: a cold start forgets them, which is why the module
  leaves the limit off by default (and an S3 on-failure destination keeps
  the whole batch when the mapping does skip one).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from fanout.records import sequence_number_of

# Time allowed between this invocation's end and the next delivery of the batch.
REDELIVERY_MARGIN_S = 30.0
_REMEMBERED = 1024  # checkpoints kept (one per shard the environment serves, in practice)


def created_s(raw: Any) -> float | None:
    """The record's ApproximateCreationDateTime in epoch seconds, if it has one."""
    try:
        value = raw["dynamodb"]["ApproximateCreationDateTime"]
    except (KeyError, TypeError):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    timestamp = getattr(value, "timestamp", None)  # boto3's get_records: a datetime
    return float(timestamp()) if callable(timestamp) else None


class SafetyValve:
    """Which leftovers the stream would drop; one per execution environment."""

    def __init__(
        self,
        maximum_record_age_s: int | None,
        maximum_retry_attempts: int | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.maximum_record_age_s = maximum_record_age_s
        self.maximum_retry_attempts = maximum_retry_attempts
        self.clock = clock
        self._reports: OrderedDict[str, int] = OrderedDict()  # checkpoint -> reports in a row

    def reports_before(self, records: list[Any]) -> int:
        """How many partial responses in a row led to this batch (0 if it is new here)."""
        first = sequence_number_of(records[0]) if records else None
        return self._reports.pop(first, 0) if first else 0

    def last_chance(self, reports_before: int) -> bool:
        """Whether the mapping would skip the batch if this invocation reports it again."""
        limit = self.maximum_retry_attempts
        return limit is not None and reports_before >= limit

    def why_park(self, raw: Any, reports_before: int, invocation_s: float) -> str | None:
        """Why this record must be parked rather than reported; None to report it."""
        if self.last_chance(reports_before):
            return (
                f"reported back {reports_before} times in a row; the event source mapping "
                f"skips a batch after maximum_retry_attempts = {self.maximum_retry_attempts}"
            )
        limit = self.maximum_record_age_s
        created = created_s(raw)
        if limit is None or created is None:
            return None
        age_s = self.clock() - created
        if age_s + invocation_s + REDELIVERY_MARGIN_S >= limit:
            return (
                f"the record is {age_s:.0f} s old; the event source mapping skips records "
                f"older than maximum_record_age_in_seconds = {limit}"
            )
        return None

    def reported(self, response: Mapping[str, Any], reports_before: int) -> None:
        """Remember the checkpoint of a partial response, to count the next report of it."""
        failures = response.get("batchItemFailures") or []
        checkpoint = failures[0].get("itemIdentifier") if failures else None
        if not checkpoint:
            return
        self._reports[checkpoint] = reports_before + 1
        self._reports.move_to_end(checkpoint)
        while len(self._reports) > _REMEMBERED:
            self._reports.popitem(last=False)
