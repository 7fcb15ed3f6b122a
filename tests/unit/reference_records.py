"""The conversion as it was before its fast paths: what the differential test compares against.

Kept verbatim apart from this docstring; not used by the handler.

Stream record → EventBridge entry: decoding and conversion, no I/O.

A record that cannot be decoded raises ``MalformedRecord``; the handler parks
it in the dead-letter queue and carries on with the rest of the batch.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fanout import limits
from fanout.settings import Settings

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_TABLE_ARN = re.compile(r"(arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+))(?:/stream/.*)?")
# Placeholder for a number that a float cannot carry exactly; the nonce makes a
# collision with item text impossible in practice.
_NONCE = secrets.token_hex(8)
_EXACT_PREFIX = f"\x00{_NONCE}:"
_EXACT_PATTERN = re.compile(r'"\\u0000' + _NONCE + r':([^"\\]+)\\u0000"')


# "For the JSON number (integer) data type, the constraints are: a minimum
# value of -9,223,372,036,854,775,808 and a maximum value of
# 9,223,372,036,854,775,807." (EventBridge API Reference, PutEvents)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class MalformedRecord(ValueError):
    """The stream record is not a DynamoDB stream record we can convert."""


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
    if not isinstance(raw, Mapping):
        raise MalformedRecord(f"record is a {type(raw).__name__}, not an object")
    ddb = raw.get("dynamodb")
    if not isinstance(ddb, Mapping):
        raise MalformedRecord("record has no 'dynamodb' section")
    event_name = raw.get("eventName")
    if event_name not in limits.EVENT_NAMES:
        raise MalformedRecord(f"unknown eventName {event_name!r}")
    sequence = sequence_number_of(raw)
    if sequence is None:
        raise MalformedRecord("record has no dynamodb.SequenceNumber")
    if not isinstance(ddb.get("Keys"), Mapping):
        raise MalformedRecord("record has no dynamodb.Keys")
    source_arn = raw.get("eventSourceARN")
    match = _TABLE_ARN.fullmatch(source_arn) if isinstance(source_arn, str) else None
    if match is None:
        raise MalformedRecord(f"eventSourceARN {source_arn!r} is not a DynamoDB table ARN")
    return StreamRecord(
        index=index,
        raw=raw,
        event_id=str(raw.get("eventID", "")),
        event_name=event_name,
        sequence_number=sequence,
        source_arn=source_arn,
        table_arn=match.group(1),
        table_name=match.group(2),
        created=_created(ddb.get("ApproximateCreationDateTime")),
        view_type=ddb.get("StreamViewType"),
    )


def _created(value: Any) -> datetime | None:
    """Lambda sends epoch seconds; boto3's get_records a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise MalformedRecord(f"ApproximateCreationDateTime {value!r} is not epoch seconds")


def _iso(moment: datetime) -> str:
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def convert(record: StreamRecord, settings: Settings) -> Entry:
    """The EventBridge entry for a decoded record (docs/events.md)."""
    ddb = record.raw["dynamodb"]
    new_image, old_image = ddb.get("NewImage"), ddb.get("OldImage")
    detail: dict[str, Any] = {
        "eventID": record.event_id,
        "eventName": record.event_name,
        "eventSourceARN": record.source_arn,
        "tableName": record.table_name,
        "awsRegion": record.raw.get("awsRegion"),
        "sequenceNumber": record.sequence_number,
        "approximateCreationDateTime": _iso(record.created) if record.created else None,
        "streamViewType": record.view_type,
    }
    fmt = settings.detail_format
    if fmt in ("plain", "both"):
        detail["keys"] = unmarshal_item(ddb["Keys"])
        if new_image is not None:
            detail["newImage"] = unmarshal_item(new_image)
        if old_image is not None:
            detail["oldImage"] = unmarshal_item(old_image)
    if fmt in ("raw", "both"):
        detail["dynamodb"] = _raw_section(ddb)
    if record.event_name == "MODIFY" and isinstance(new_image, Mapping) and old_image is not None:
        detail["changedAttributes"] = changed_attributes(old_image, new_image)
    if "userIdentity" in record.raw:
        detail["userIdentity"] = record.raw["userIdentity"]
    text = to_json(detail)
    source = settings.event_source or f"dynamodb.{record.table_name}"[: limits.SOURCE_MAX_CHARS]
    resources = (record.table_arn,)
    size = (
        (limits.PUT_EVENTS_TIME_BYTES if record.created else 0)
        + _utf8_len(source)
        + _utf8_len(record.event_name)
        + _utf8_len(text)
        + sum(_utf8_len(r) for r in resources)
    )
    return Entry(record, source, record.event_name, text, resources, record.created, size)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _raw_section(ddb: Mapping[str, Any]) -> dict[str, Any]:
    """The record's DynamoDB JSON, binary values as base64 (as Lambda delivers them)."""
    section = {k: ddb[k] for k in ("Keys", "NewImage", "OldImage") if k in ddb}
    return _jsonable(section)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def changed_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level attribute names whose values differ, sorted, removed ones included."""
    names = old.keys() | new.keys()
    return sorted(name for name in names if old.get(name) != new.get(name))


def unmarshal_item(item: Any) -> dict[str, Any]:
    """A DynamoDB JSON item (attribute name → typed value) as plain JSON values."""
    if not isinstance(item, Mapping):
        raise MalformedRecord(f"image is a {type(item).__name__}, not a map")
    return {name: unmarshal(value) for name, value in item.items()}


def unmarshal(value: Any) -> Any:
    """One DynamoDB typed value (e.g. {"N": "1"}) as a plain JSON value."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise MalformedRecord(f"not a DynamoDB attribute value: {_short(value)}")
    (kind, inner), *_ = value.items()
    try:
        return _UNMARSHAL[kind](inner)
    except KeyError:
        raise MalformedRecord(f"unknown DynamoDB type {kind!r}") from None
    except (TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, MalformedRecord):
            raise
        raise MalformedRecord(f"bad {kind} value {_short(inner)}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _string(inner: Any) -> str:
    if not isinstance(inner, str):
        raise TypeError
    return inner


def number(text: Any) -> int | float | str:
    """A DynamoDB number with every stored digit kept.

    Integers in the int64 range become Python ints, and floats are used only
    when they carry the exact value; anything else (e.g. 38 significant
    digits) becomes a placeholder that ``to_json`` writes back as the digits.
    """
    if not isinstance(text, str):
        raise TypeError
    if not _JSON_NUMBER.fullmatch(text):
        try:
            text = _decimal_text(Decimal(text))
        except InvalidOperation:
            raise ValueError(text) from None
    if "." not in text and "e" not in text and "E" not in text:
        value = int(text)
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        # PutEvents takes JSON integers only in the int64 range: keep the
        # digits, in exponent notation (e.g. 1.2345…E+37).
        mantissa, exponent = format(Decimal(text), "E").split("E")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{_EXACT_PREFIX}{mantissa}E{exponent}\x00"
    as_float = float(text)
    if Decimal(repr(as_float)) == Decimal(text):
        return as_float
    return _EXACT_PREFIX + text + "\x00"


def _decimal_text(value: Decimal) -> str:
    """A JSON-number spelling of a Decimal (for inputs like '+1' or '.5')."""
    if not value.is_finite():
        raise InvalidOperation
    text = format(value, "f") if abs(value.adjusted()) < 40 else format(value, "E")
    return text if _JSON_NUMBER.fullmatch(text) else format(value, "E")


def _binary(inner: Any) -> str:
    if isinstance(inner, bytes | bytearray):
        return base64.b64encode(inner).decode("ascii")
    if not isinstance(inner, str):
        raise TypeError
    return inner  # Lambda already delivers binary as base64 text


def _bool(inner: Any) -> bool:
    if not isinstance(inner, bool):
        raise TypeError
    return inner


def _list(inner: Any) -> list[Any]:
    if not isinstance(inner, list):
        raise TypeError
    return [unmarshal(v) for v in inner]


def _set(convert_one: Any) -> Any:
    def convert_set(inner: Any) -> list[Any]:
        if not isinstance(inner, list | tuple | set | frozenset):
            raise TypeError
        return [convert_one(v) for v in inner]

    return convert_set


_UNMARSHAL: dict[str, Any] = {
    "S": _string,
    "N": number,
    "B": _binary,
    "BOOL": _bool,
    "NULL": lambda inner: None,
    "L": _list,
    "M": unmarshal_item,
    "SS": _set(_string),
    "NS": _set(number),
    "BS": _set(_binary),
}


def to_json(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is, exact numbers restored from placeholders."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if "\\u0000" + _NONCE in text:
        text = _EXACT_PATTERN.sub(r"\1", text)
    return text
