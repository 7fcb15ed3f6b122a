"""Lambda's DynamoDB event source mapping, played locally: ``dynamodb-fanout local-run``.

moto cannot run Lambda code, and it drops stream records while a mapping
exists, so a local run leaves the mapping out and reads the stream here
instead, the way the Lambda poller does: every shard (parents before
children) through the dynamodbstreams API, records converted to the Lambda
event shape, batches of the mapping's batch size, the handler called
in-process, and a reported ``batchItemFailures`` answered by re-delivering
from the lowest reported sequence number. Retries are bounded; what is still
failing after them is counted as discarded, with the batch metadata Lambda
would send to an on-failure destination. Every record is counted exactly once
in ``read`` and ends up either ``acknowledged`` or ``discarded``.

``checkpoints`` (per shard, the newest sequence number handled) is where a
mapping keeps its position: a poller given the last one's goes on from there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dynamodb_fanout.stream_reader import (  # shared with `dynamodb-fanout replay`
    GET_RECORDS_LIMIT,
    Unreachable,
    describe_shards,
    read_page,
    shard_iterator,
    to_lambda_record,
)

__all__ = ["PollerStats", "StreamPoller", "first_failed_index", "to_lambda_record"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100  # Lambda's default for DynamoDB streams

Handler = Callable[[dict[str, Any], Any], Any]


class StreamsClient(Protocol):
    """The subset of boto3's dynamodbstreams client the poller uses."""

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_records(self, **kwargs: Any) -> dict[str, Any]: ...


def sequence_number(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def first_failed_index(batch: list[dict[str, Any]], response: Any) -> int | None:
    """Index in batch from which Lambda would re-deliver, or None when all succeeded.

    Mirrors Lambda: a response that is not a dict or lacks the key means success;
    an identifier that is empty or not in the batch fails the whole batch.
    """
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures") or []
    if not failures:
        return None
    positions = {record["dynamodb"]["SequenceNumber"]: i for i, record in enumerate(batch)}
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in positions:
            return 0
        indexes.append(positions[identifier])
    return min(indexes)


@dataclass
class PollerStats:
    """Counters for one poller; ``read == acknowledged + discarded + pending`` always."""

    shards: int = 0
    read: int = 0
    invocations: int = 0
    delivered: int = 0  # records handed to the handler, re-deliveries included
    redelivered: int = 0
    partial_failures: int = 0  # invocations that returned batchItemFailures
    handler_errors: int = 0  # invocations that raised
    acknowledged: int = 0
    discarded: int = 0
    discarded_records: list[dict[str, Any]] = field(default_factory=list)
    on_failure: list[dict[str, Any]] = field(default_factory=list)  # batch metadata only
    handler_seconds: float = 0.0
    last_error: str = ""  # the handler's last exception, for the report
    restarted: dict[str, str] = field(default_factory=dict)  # shard -> why its checkpoint failed


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    closed: bool = False  # GetRecords returned no NextShardIterator
    last_read: str | None = None  # sequence number of the newest record fetched
    checkpoint: str | None = None  # newest record acknowledged or discarded
    buffer: list[dict[str, Any]] = field(default_factory=list)
    head_attempts: int = 0  # failed attempts of the batch starting at buffer[0]

    @property
    def finished(self) -> bool:
        return self.closed and not self.buffer


class StreamPoller:
    """Reads one stream and feeds the handler like an event source mapping would."""

    def __init__(
        self,
        streams: StreamsClient,
        stream_arn: str,
        handler: Handler,
        *,
        context_factory: Callable[[], Any] = lambda: None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        maximum_retry_attempts: int = 3,
        retry_delay_s: float = 0.0,
        on_invoke: Callable[[PollerStats], None] | None = None,
        checkpoints: Mapping[str, str] | None = None,
    ) -> None:
        """``checkpoints`` (shard id -> sequence number) resumes where an earlier poller
        stopped, as a mapping keeps its position between invocations."""
        if not 1 <= batch_size <= 10000:
            raise ValueError("batch_size must be 1..10000 (Lambda's range for DynamoDB)")
        self.streams = streams
        self.stream_arn = stream_arn
        self.handler = handler
        self.context_factory = context_factory
        self.batch_size = batch_size
        self.maximum_retry_attempts = maximum_retry_attempts
        self.retry_delay_s = retry_delay_s
        self.on_invoke = on_invoke
        self.stats = PollerStats()
        self._shards: dict[str, _Shard] = {}
        self._resume = dict(checkpoints or {})

    @property
    def checkpoints(self) -> dict[str, str]:
        """Per shard, the newest sequence number handled: where a successor starts."""
        return {s.shard_id: s.checkpoint for s in self._shards.values() if s.checkpoint}

    @property
    def pending(self) -> int:
        """Records fetched but neither acknowledged nor discarded yet."""
        return sum(len(shard.buffer) for shard in self._shards.values())

    def _refresh_shards(self) -> None:
        for shard in describe_shards(self.streams, self.stream_arn):
            if shard["ShardId"] not in self._shards:
                shard_id = shard["ShardId"]
                resume = self._resume.get(shard_id)
                self._shards[shard_id] = _Shard(
                    shard_id, shard.get("ParentShardId"), last_read=resume, checkpoint=resume
                )
        self.stats.shards = len(self._shards)

    def _ready(self, shard: _Shard) -> bool:
        """Children wait until their parent is fully processed, as Lambda does."""
        parent = self._shards.get(shard.parent_id or "")
        return not shard.finished and (parent is None or parent.finished)

    def _iterator(self, shard: _Shard) -> str:
        if shard.iterator is None:
            try:
                shard.iterator = shard_iterator(
                    self.streams, self.stream_arn, shard.shard_id, after=shard.last_read
                )
            except Unreachable as exc:
                if shard.last_read is None:
                    raise
                # A checkpoint past the stream's retention: as a mapping does, go on from
                # the oldest record the shard still has (what lay between is gone).
                self.stats.restarted[shard.shard_id] = f"checkpoint {shard.last_read}: {exc}"
                shard.last_read = None
                return self._iterator(shard)
        return shard.iterator

    def _fetch(self, shard: _Shard) -> int:
        """Top the shard's buffer up to one batch; return how many records were new."""
        fetched = 0
        while not shard.closed and len(shard.buffer) < self.batch_size:
            records, shard.iterator = read_page(
                self.streams, self._iterator(shard), self.stream_arn, GET_RECORDS_LIMIT
            )
            shard.closed = shard.iterator is None
            if records:
                shard.buffer.extend(records)
                shard.last_read = records[-1]["dynamodb"]["SequenceNumber"]
                fetched += len(records)
            else:
                break
        self.stats.read += fetched
        return fetched

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        self.stats.invocations += 1
        self.stats.delivered += len(batch)
        started = time.perf_counter()
        try:
            response = self.handler({"Records": batch}, self.context_factory())
        except Exception as error:  # Lambda turns any error into a whole-batch retry
            self.stats.handler_errors += 1
            self.stats.last_error = f"{type(error).__name__}: {error}"
            logger.warning("handler raised; the whole batch will be retried", exc_info=True)
            return 0
        finally:
            self.stats.handler_seconds += time.perf_counter() - started
        failed = first_failed_index(batch, response)
        if failed is not None:
            self.stats.partial_failures += 1
        return failed

    def _discard(self, shard: _Shard, records: list[dict[str, Any]]) -> None:
        self.stats.discarded += len(records)
        self.stats.discarded_records.extend(records)
        self.stats.on_failure.append(
            {
                "DDBStreamBatchInfo": {
                    "shardId": shard.shard_id,
                    "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
                "requestContext": {"condition": "RetryAttemptsExhausted"},
            }
        )

    def _process_batch(self, shard: _Shard) -> None:
        batch = shard.buffer[: self.batch_size]
        if shard.head_attempts:
            self.stats.redelivered += len(batch)
        failed = self._invoke(batch)
        if failed is None:
            failed = len(batch)
        done = batch[:failed]
        self.stats.acknowledged += len(done)
        del shard.buffer[:failed]
        if done:
            shard.checkpoint = done[-1]["dynamodb"]["SequenceNumber"]
        if failed == len(batch):
            shard.head_attempts = 0
            return
        shard.head_attempts = 1 if failed else shard.head_attempts + 1
        if shard.head_attempts > self.maximum_retry_attempts >= 0:
            rest = batch[failed:]
            self._discard(shard, rest)
            del shard.buffer[: len(rest)]
            shard.checkpoint = rest[-1]["dynamodb"]["SequenceNumber"]
            shard.head_attempts = 0
        elif self.retry_delay_s:
            time.sleep(self.retry_delay_s)

    def poll_once(self) -> int:
        """One pass over every ready shard: fetch, then invoke one batch each.

        Returns the number of records newly read from the stream.
        """
        self._refresh_shards()
        fetched = 0
        for shard in list(self._shards.values()):
            if not self._ready(shard):
                continue
            fetched += self._fetch(shard)
            if shard.buffer:
                self._process_batch(shard)
                if self.on_invoke:
                    self.on_invoke(self.stats)
        return fetched

    def drain(
        self,
        idle_polls: int = 2,
        timeout_s: float | None = 300.0,
        poll_interval_s: float = 0.05,
        stop: threading.Event | None = None,
    ) -> bool:
        """Poll until nothing is pending and the stream stayed quiet for idle_polls passes.

        False when ``stop`` was set first (the batch in hand is finished before).
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        quiet = 0
        while quiet < idle_polls:
            if stop is not None and stop.is_set():
                return False
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"stream not drained within {timeout_s}s: {self.stats}")
            fetched = self.poll_once()
            if fetched or self.pending:
                quiet = 0
            else:
                quiet += 1
                time.sleep(poll_interval_s)
        return True

    def follow(self, stop: threading.Event, poll_interval_s: float = 1.0) -> None:
        """Poll until ``stop`` is set, as a mapping polls its shards, waiting while idle."""
        while not stop.is_set():
            fetched = self.poll_once()
            if not fetched and not self.pending:
                stop.wait(poll_interval_s)
