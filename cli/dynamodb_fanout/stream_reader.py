"""Reading a DynamoDB stream the way Lambda's poller does: shards, iterators, pages.

Records come out in the shape Lambda hands the function (epoch seconds,
``eventSourceARN`` added), so the handler's own code can take them. ``replay``
reads a failed batch's range back with it; ``local-run``'s poller
(``stream_poller``) reads the whole stream with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ParamValidationError

from dynamodb_fanout.errors import error_code

GET_RECORDS_LIMIT = 1000  # dynamodbstreams GetRecords maximum
EMPTY_PAGES_TO_STOP = 3  # an open shard can answer empty pages before the records
UNREACHABLE = {
    "TrimmedDataAccessException": "past the stream's 24 h retention",
    "ResourceNotFoundException": "the stream or shard no longer exists",
    "ExpiredIteratorException": "the shard iterator expired",
    "ValidationException": "the stream does not accept this position",
}


class Unreachable(Exception):
    """A stream position that cannot be read (any more), with why."""


def _epoch_seconds(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp())
    return value


def to_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One GetRecords record as Lambda delivers it: epoch seconds, eventSourceARN added."""
    change = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in change:
        change["ApproximateCreationDateTime"] = _epoch_seconds(
            change["ApproximateCreationDateTime"]
        )
    converted = {key: value for key, value in record.items() if key != "dynamodb"}
    converted["dynamodb"] = change
    converted["eventSourceARN"] = stream_arn
    return converted


def describe_shards(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    """Every shard the stream still has, as DescribeStream describes it (page by page)."""
    shards: list[dict[str, Any]] = []
    start: dict[str, str] = {}
    while True:
        description = streams.describe_stream(StreamArn=stream_arn, **start)["StreamDescription"]
        shards += description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            return shards
        start = {"ExclusiveStartShardId": last}


def shard_ids(streams: Any, stream_arn: str) -> set[str]:
    """The ids of the shards the stream still has."""
    return {shard["ShardId"] for shard in describe_shards(streams, stream_arn)}


def shard_iterator(
    streams: Any, stream_arn: str, shard_id: str, after: str | None = None, at: str | None = None
) -> str:
    """An iterator at a sequence number, after one, or at the trim horizon; Unreachable if gone."""
    if at is not None:
        position = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": at}
    elif after is not None:
        position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
    else:
        position = {"ShardIteratorType": "TRIM_HORIZON"}
    try:
        return str(
            streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **position)[
                "ShardIterator"
            ]
        )
    except ParamValidationError as exc:
        raise Unreachable("not a valid stream position: " + " ".join(str(exc).split())) from None
    except Exception as exc:
        code = error_code(exc)
        if code not in UNREACHABLE:
            raise
        raise Unreachable(f"{code}: {UNREACHABLE[code]}") from None


def read_page(
    streams: Any, iterator: str, stream_arn: str, limit: int = GET_RECORDS_LIMIT
) -> tuple[list[dict[str, Any]], str | None]:
    """One GetRecords page in Lambda's shape, and the next iterator (None: the shard is closed)."""
    response = streams.get_records(ShardIterator=iterator, Limit=limit)
    records = [to_lambda_record(r, stream_arn) for r in response.get("Records", [])]
    return records, response.get("NextShardIterator")


def sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def read_range(
    streams: Any, stream_arn: str, shard_id: str, start: str, end: str
) -> list[dict[str, Any]]:
    """The records of one shard from ``start`` to ``end`` (sequence numbers, both included)."""
    iterator: str | None = shard_iterator(streams, stream_arn, shard_id, at=start)
    first, last = int(start), int(end)
    records: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < EMPTY_PAGES_TO_STOP:
        page, iterator = read_page(streams, iterator, stream_arn)
        empty = 0 if page else empty + 1
        records += [r for r in page if first <= sequence(r) <= last]
        if (records and sequence(records[-1]) >= last) or (page and sequence(page[-1]) > last):
            break
    return records
