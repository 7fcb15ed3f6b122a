"""Stream record → EventBridge entry: decoding and conversion, no I/O.

A record that cannot be decoded raises ``MalformedRecord``; the handler parks
it in the dead-letter queue and carries on with the rest of the batch.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fanout import limits
from fanout.attribute_values import (  # re-exported: the conversion's public names
    MalformedRecord,
    changed_attributes,
    number,
    short_repr,
    to_json,
    unmarshal,
    unmarshal_item,
    unmarshal_old_image,
)
from fanout.settings import Settings

__all__ = [
    "Entry",
    "MalformedRecord",
    "StreamRecord",
    "changed_attributes",
    "convert",
    "decode",
    "entry_size",
    "iso_utc",
    "jsonable",
    "number",
    "sequence_number_of",
    "table_name_of",
    "to_json",
    "unmarshal",
    "unmarshal_item",
    "utf8_len",
]

_TABLE_ARN = re.compile(r"(arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+))(?:/stream/.*)?")


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """The fields of one Lambda DynamoDB stream record that the fan-out uses."""

    index: int  # position in the invocation's batch
    raw: Mapping[str, Any]
    event_id: str
    event_name: str
    sequence_number: str
    source_arn: str
    table_arn: str
    table_name: str
    created: datetime | None
    view_type: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One PutEvents entry and its size by AWS's formula."""

    record: StreamRecord
    source: str
    detail_type: str
    detail: str
    resources: tuple[str, ...]
    time: datetime | None
    size: int

    def to_api(self, event_bus_name: str) -> dict[str, Any]:
        """The PutEventsRequestEntry boto3 sends."""
        entry: dict[str, Any] = {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail,
            "Resources": list(self.resources),
            "EventBusName": event_bus_name,
        }
        if self.time is not None:
            entry["Time"] = self.time
        return entry


def sequence_number_of(raw: Any) -> str | None:
    """The record's sequence number if it has one, for reporting it back."""
    try:
        value = raw["dynamodb"]["SequenceNumber"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and value else None


def decode(index: int, raw: Any) -> StreamRecord:
    """Check the record's shape and pull out its metadata."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise MalformedRecord(f"record is a {type(raw).__name__}, not an object")
    ddb = raw.get("dynamodb")
    if type(ddb) is not dict and not isinstance(ddb, Mapping):
        raise MalformedRecord("record has no 'dynamodb' section")
    event_name = raw.get("eventName")
    if not isinstance(event_name, str) or event_name not in limits.EVENT_NAMES:
        raise MalformedRecord(f"unknown eventName {short_repr(event_name)}")
    sequence = ddb.get("SequenceNumber")
    if type(sequence) is not str or not sequence:
        raise MalformedRecord("record has no dynamodb.SequenceNumber")
    keys = ddb.get("Keys")
    if type(keys) is not dict and not isinstance(keys, Mapping):
        raise MalformedRecord("record has no dynamodb.Keys")
    source_arn = raw.get("eventSourceARN")
    table = _table_of(source_arn) if isinstance(source_arn, str) else None
    if table is None or not isinstance(source_arn, str):
        raise MalformedRecord(
            f"eventSourceARN {short_repr(source_arn)} is not a DynamoDB table ARN"
        )
    return StreamRecord(
        index=index,
        raw=raw,
        event_id=str(raw.get("eventID", "")),
        event_name=event_name,
        sequence_number=sequence,
        source_arn=source_arn,
        table_arn=table[0],
        table_name=table[1],
        created=_created(ddb.get("ApproximateCreationDateTime")),
        view_type=ddb.get("StreamViewType"),
    )


@functools.lru_cache(maxsize=256)
def _table_of(source_arn: str) -> tuple[str, str] | None:
    """(table ARN, table name) of a stream ARN; a batch has one, so it is parsed once."""
    match = _TABLE_ARN.fullmatch(source_arn)
    return (match.group(1), match.group(2)) if match else None


def table_name_of(source_arn: Any) -> str | None:
    """The table name in a stream or table ARN, if it is one."""
    table = _table_of(source_arn) if isinstance(source_arn, str) else None
    return table[1] if table else None


def _created(value: Any) -> datetime | None:
    """Lambda sends epoch seconds; boto3's get_records a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value)
    raise MalformedRecord(f"ApproximateCreationDateTime {value!r} is not epoch seconds")


@functools.lru_cache(maxsize=1024)
def _from_epoch(seconds: float) -> datetime:
    """Records of one batch share few distinct seconds: each is converted once."""
    return datetime.fromtimestamp(seconds, tz=UTC)


@functools.lru_cache(maxsize=1024)
def iso_utc(moment: datetime, seconds_only: bool = False) -> str:
    """ISO-8601 in UTC with a Z: milliseconds when there are any, unless seconds_only.

    The one time renderer: the detail's approximateCreationDateTime, the
    stored claim-check event and the DLQ's copy of an entry all use it
    (seconds_only: as EventBridge writes an event's ``time``).
    """
    moment = moment.astimezone(UTC)
    precise = moment.microsecond and not seconds_only
    text = moment.isoformat(timespec="milliseconds" if precise else "seconds")
    return text.replace("+00:00", "Z")


def convert(record: StreamRecord, settings: Settings) -> Entry:
    """The EventBridge entry for a decoded record (the contract in docs/events.md)."""
    ddb = record.raw["dynamodb"]
    new_image, old_image = ddb.get("NewImage"), ddb.get("OldImage")
    detail: dict[str, Any] = {
        "eventID": record.event_id,
        "eventName": record.event_name,
        "eventSourceARN": record.source_arn,
        "tableName": record.table_name,
        "awsRegion": record.raw.get("awsRegion"),
        "sequenceNumber": record.sequence_number,
        "approximateCreationDateTime": iso_utc(record.created) if record.created else None,
        "streamViewType": record.view_type,
    }
    fmt = settings.detail_format
    if fmt in ("plain", "both"):
        detail["keys"] = unmarshal_item(ddb["Keys"])
        new_plain = None if new_image is None else unmarshal_item(new_image)
        if new_plain is not None:
            detail["newImage"] = new_plain
        if old_image is not None:
            detail["oldImage"] = unmarshal_old_image(old_image, new_image, new_plain)
    if fmt in ("raw", "both"):
        detail["dynamodb"] = _raw_section(ddb)
    if record.event_name == "MODIFY" and isinstance(new_image, Mapping) and old_image is not None:
        detail["changedAttributes"] = changed_attributes(old_image, new_image)
    if "userIdentity" in record.raw:
        detail["userIdentity"] = record.raw["userIdentity"]
    text = to_json(detail)
    source = settings.event_source or f"dynamodb.{record.table_name}"[: limits.SOURCE_MAX_CHARS]
    resources = (record.table_arn,)
    size = entry_size(source, record.event_name, text, resources, record.created is not None)
    return Entry(record, source, record.event_name, text, resources, record.created, size)


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes, as AWS counts (a lone surrogate raises: it cannot be sent)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def entry_size(
    source: str, detail_type: str, detail: str, resources: tuple[str, ...], timed: bool
) -> int:
    """A PutEvents entry's size by AWS's formula (limits): the one place it is computed."""
    return (
        (limits.PUT_EVENTS_TIME_BYTES if timed else 0)
        + utf8_len(source)
        + utf8_len(detail_type)
        + utf8_len(detail)
        + sum(utf8_len(r) for r in resources)
    )


def _raw_section(ddb: Mapping[str, Any]) -> dict[str, Any]:
    """The record's ``dynamodb`` section unchanged, as Lambda delivers it.

    Keys, images, SequenceNumber, SizeBytes, StreamViewType and
    ApproximateCreationDateTime all stay; only what boto3's get_records hands
    over as Python objects is written as Lambda would (bytes as base64,
    datetimes as epoch seconds).
    """
    return jsonable(ddb)


def jsonable(value: Any) -> Any:
    """A stream record's value as Lambda delivers it in JSON: bytes as base64, times as
    epoch seconds, sets as lists (boto3's get_records hands over Python objects)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    return value
