"""Claim-check for events too large to publish: the whole event in S3, a pointer on the bus.

An entry above the size budget would otherwise go to the dead-letter queue.
With a bucket configured it is stored whole under a key derived from the table
and the record's identity (a retry overwrites the same object instead of
adding one; two records never share one) and
published as a pointer event: same source and detail-type, the keys, the
metadata and changedAttributes, plus ``claimCheck`` = {bucket, key, size, uri};
images are left out (raw: ``dynamodb`` without NewImage/OldImage). Only a
pointer that is itself too large, or a store that fails, still ends in the DLQ.

The pure part (keys, stored body, pointer entry) has no I/O; ``ClaimCheck``
puts objects at the edge, within the invocation's deadline. Consumers turn a
pointer event back into the full event with ``fetch_full_event``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from fanout.attribute_values import number, to_json
from fanout.deadline import CallTimedOut, Deadline
from fanout.records import Entry, entry_size

POINTER_FIELD = "claimCheck"
IMAGE_FIELDS = ("newImage", "oldImage")
RAW_IMAGE_FIELDS = ("NewImage", "OldImage")
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]")
# PutObject attempts per event: S3 answers 503 SlowDown under bursts; each
# attempt is started only while the deadline leaves its reserve, like PutEvents.
PUT_ATTEMPTS = 3


class ClaimCheckError(ValueError):
    """A pointer that cannot be resolved: malformed, or its object missing, unreadable,
    empty, corrupt, not UTF-8, or holding another event. The one error fetch_full_event raises.
    """


_KEY_ID_CHARS = 100  # of the readable eventID in a key (S3 keys: at most 1,024 bytes)
NO_TIME = "no time left in the invocation"


def object_key(
    prefix: str, table_name: str, event_id: str, sequence_number: str = "", source_arn: str = ""
) -> str:
    """<prefix><table>/<eventID>-<digest>.json, unique per record, the same on every retry.

    The readable part has characters unsafe in keys replaced by '_' (and may
    be empty); the digest of the exact eventID, sequence number and stream
    ARN keeps two records apart even when the readable parts are equal.
    """
    table = _UNSAFE_KEY_CHARS.sub("_", table_name)
    event = _UNSAFE_KEY_CHARS.sub("_", event_id)[:_KEY_ID_CHARS] or "no-event-id"
    identity = "\n".join((event_id, sequence_number, source_arn)).encode("utf-8")
    digest = hashlib.sha256(identity).hexdigest()[:20]
    return f"{prefix}{table}/{event}-{digest}.json"


def stored_body(entry: Entry) -> bytes:
    """The full event as stored: what the bus would have carried, the detail byte for byte.

    EventBridge adds id, account, region and version on delivery; the consumer
    helper takes those from the pointer event.
    """
    head = {
        "source": entry.source,
        "detail-type": entry.detail_type,
        "time": _iso(entry),
        "resources": list(entry.resources),
    }
    text = to_json(head)[:-1] + ',"detail":' + entry.detail + "}"
    return text.encode("utf-8")


def _iso(entry: Entry) -> str | None:
    if entry.time is None:
        return None
    return entry.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def pointer_entry(entry: Entry, bucket: str, key: str, size: int) -> Entry:
    """The entry published instead of a stored one: its detail without the images."""
    # Numbers go through records.number, so every digit of a key survives the round trip.
    detail = json.loads(entry.detail, parse_float=number, parse_int=number)
    for name in IMAGE_FIELDS:
        detail.pop(name, None)
    section = detail.get("dynamodb")
    if isinstance(section, dict):  # raw/both: keys and metadata stay, images go
        detail["dynamodb"] = {k: v for k, v in section.items() if k not in RAW_IMAGE_FIELDS}
    detail[POINTER_FIELD] = {
        "bucket": bucket,
        "key": key,
        "size": size,
        "uri": f"s3://{bucket}/{key}",
    }
    text = to_json(detail)
    new_size = entry_size(
        entry.source, entry.detail_type, text, entry.resources, entry.time is not None
    )
    return replace(entry, detail=text, size=new_size)


@dataclass(slots=True)
class Stored:
    """What one claim-check pass did with the entries handed to it."""

    pointers: list[Entry] = field(default_factory=list)  # to publish instead
    failed: list[tuple[Entry, str]] = field(default_factory=list)  # for the DLQ, with why
    untried: list[Entry] = field(default_factory=list)  # no time to store: reported back
    calls: int = 0


class ClaimCheck:
    """Stores large events in one bucket under one prefix (the role may write nowhere else)."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self._sleep = sleep

    def store(self, entries: list[Entry], max_event_size: int, deadline: Deadline) -> Stored:
        """Put each entry's full event, and build its pointer; never raises for an entry."""
        result = Stored()
        for entry in entries:
            record = entry.record
            key = object_key(
                self.prefix,
                record.table_name,
                record.event_id,
                record.sequence_number,
                record.source_arn,
            )
            body = stored_body(entry)
            pointer = pointer_entry(entry, self.bucket, key, len(body))
            if pointer.size >= max_event_size:
                why = f"even its claim-check pointer is {pointer.size} bytes"
                result.failed.append((entry, why))
                continue
            error = self._put(key, body, deadline, result)
            if error is None:
                result.pointers.append(pointer)
            elif error is NO_TIME:
                result.untried.append(entry)
            else:
                result.failed.append(
                    (entry, f"storing it in s3://{self.bucket}/{key} failed: {error}")
                )
        return result

    def _put(self, key: str, body: bytes, deadline: Deadline, result: Stored) -> str | None:
        """None once stored; NO_TIME if never tried; otherwise the last error."""
        error = NO_TIME
        for attempt in range(PUT_ATTEMPTS):
            delay = 0.0 if attempt == 0 else min(1.0, 0.1 * 2**attempt)
            if not deadline.allows(delay * 1000):
                return error if attempt else NO_TIME
            self._sleep(delay)
            result.calls += 1
            try:
                deadline.call(
                    self.s3.put_object,
                    deadline.call_limit_ms(),
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                )
                return None
            except CallTimedOut as exc:
                error = str(exc)  # the object may or may not be there: a retry overwrites it
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "ClientError")
                error = f"{code}: {exc.response.get('Error', {}).get('Message', '')}".strip()
                if code in (
                    "AccessDenied",
                    "NoSuchBucket",
                    "InvalidRequest",
                    "KMS.AccessDeniedException",
                ):
                    return error  # another attempt cannot succeed
            except Exception as exc:  # connection errors and anything else: the record is parked
                error = f"{type(exc).__name__}: {exc}"
        return error


def is_pointer(event: dict[str, Any]) -> bool:
    """Whether a delivered event is a claim-check pointer."""
    detail = event.get("detail")
    return isinstance(detail, dict) and isinstance(detail.get(POINTER_FIELD), dict)


def fetch_full_event(event: dict[str, Any], s3: Any = None, **json_options: Any) -> dict[str, Any]:
    """The full event for a delivered event: a pointer's S3 object, any other event as is.

    ``event`` is the event as a target receives it (the EventBridge envelope);
    the result is the same envelope with the full ``detail``. ``s3`` is a boto3
    S3 client (one is made when None); the caller needs s3:GetObject on the
    object. ``json_options`` go to json.loads (e.g. parse_float=decimal.Decimal
    to keep every digit of large numbers). Raises ``ClaimCheckError`` (and
    nothing else for a bad pointer or object) when the full event cannot be had.
    """
    if not is_pointer(event):
        return event
    bucket, key, uri = _pointer_location(event["detail"][POINTER_FIELD])
    if s3 is None:
        import boto3  # noqa: PLC0415 - only consumers without a client need it

        s3 = boto3.client("s3")
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise ClaimCheckError(f"cannot read {uri}: {code}") from exc
    if not data:
        raise ClaimCheckError(f"{uri} is empty")
    try:
        stored = json.loads(data.decode("utf-8"), **json_options)
    except UnicodeDecodeError as exc:
        raise ClaimCheckError(f"{uri} is not UTF-8 text: {exc.reason}") from exc
    except (ValueError, RecursionError) as exc:
        raise ClaimCheckError(f"{uri} is not a stored event (not JSON: {exc})") from exc
    detail = stored.get("detail") if isinstance(stored, dict) else None
    event_id = event["detail"].get("eventID")
    if not isinstance(detail, dict) or detail.get("eventID") != event_id:
        raise ClaimCheckError(f"{uri} does not hold event {event_id!r}")
    return {**event, "detail": detail}


def _pointer_location(pointer: dict[str, Any]) -> tuple[str, str, str]:
    """(bucket, key, uri) of a pointer; ClaimCheckError if it does not name an object."""
    bucket, key = pointer.get("bucket"), pointer.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise ClaimCheckError(
            f"malformed claim-check pointer (needs bucket and key strings): {pointer!r:.200}"
        )
    return bucket, key, f"s3://{bucket}/{key}"
