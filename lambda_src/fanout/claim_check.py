"""Claim-check for events too large to publish: the whole event in S3, a pointer on the bus.

An entry above the size budget would otherwise go to the dead-letter queue.
With a bucket configured it is stored whole under a key derived from the table
and the record's identity (a retry overwrites the same object instead of
adding one; two records never share one) and
published as a pointer event: same source and detail-type, the keys, the
metadata and changedAttributes, plus ``claimCheck`` = {bucket, key, size, uri};
images are left out (raw: ``dynamodb`` without NewImage/OldImage). Only a
pointer that is itself too large, or a store S3 refuses for good (no bucket,
no access), still ends in the DLQ; a store that fails for now is tried again.

The pure part (keys, stored body, pointer entry) has no I/O; ``ClaimCheck``
puts objects at the edge, within the invocation's deadline. Consumers turn a
pointer event back into the full event with ``fetch_full_event``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from fanout.attribute_values import number, to_json
from fanout.aws_errors import AwsError, attempts, classify
from fanout.deadline import Deadline
from fanout.records import Entry, entry_size, iso_utc

POINTER_FIELD = "claimCheck"
IMAGE_FIELDS = ("newImage", "oldImage")
RAW_IMAGE_FIELDS = ("NewImage", "OldImage")
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]")
# PutObject attempts per event: S3 answers 503 SlowDown under bursts; each
# attempt is started only while the deadline leaves its reserve, like PutEvents.
PUT_ATTEMPTS = 3
NO_TIME = "no time left in the invocation to store it"


class ClaimCheckError(ValueError):
    """A pointer that cannot be resolved: malformed, or its object missing, unreadable,
    empty, corrupt, not UTF-8, or holding another event. The one error fetch_full_event raises.
    """


_KEY_ID_CHARS = 100  # of the readable eventID in a key (S3 keys: at most 1,024 bytes)


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
        "time": iso_utc(entry.time, seconds_only=True) if entry.time else None,
        "resources": list(entry.resources),
    }
    text = to_json(head)[:-1] + ',"detail":' + entry.detail + "}"
    return text.encode("utf-8")


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


@dataclass(frozen=True, slots=True)
class Stored:
    """How one claim-check ended: a pointer to publish, or why not."""

    pointer: Entry | None = None  # stored: publish this instead
    problem: str | None = None  # can never be carried: parked as EventTooLarge with this
    retry: str | None = None  # not stored now (S3 failing, or no time): reported back


class ClaimCheck:
    """Stores large events in one bucket under one prefix (the role may write nowhere else)."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        owner: str | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self._sleep = sleep
        self._jitter = jitter
        # ExpectedBucketOwner on every call: S3 refuses (403) a bucket another account owns.
        self._owner = {"ExpectedBucketOwner": owner} if owner else {}

    def store(self, entry: Entry, fits: Callable[[Entry], bool], deadline: Deadline) -> Stored:
        """Put the entry's full event and build its pointer; never raises.

        ``fits`` says whether a pointer can be published; one that cannot is
        not stored at all. A put that S3 refuses for good (no bucket, no
        access) is a problem; one that fails for now (SlowDown, a timeout, no
        time left) is tried again on the next delivery.
        """
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
        if not fits(pointer):
            return Stored(problem=f"even its claim-check pointer is {pointer.size} bytes")
        error: AwsError | None = None
        for limit_ms in attempts(deadline, PUT_ATTEMPTS, self._sleep, self._jitter):
            try:
                deadline.call(
                    self.s3.put_object,
                    limit_ms,
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    **self._owner,
                )
                return Stored(pointer=pointer)
            except Exception as exc:  # sorted by the one error policy
                error = classify(exc)
                if not error.retryable:
                    where = f"s3://{self.bucket}/{key}"
                    return Stored(
                        problem=f"storing it in {where} failed: {error.code}: {error.message}"
                    )
        if error is None:
            return Stored(retry=NO_TIME)
        return Stored(retry=f"S3 PutObject: {error.code}: {error.message}"[:500])


def is_pointer(event: dict[str, Any]) -> bool:
    """Whether a delivered event is a claim-check pointer."""
    detail = event.get("detail")
    return isinstance(detail, dict) and isinstance(detail.get(POINTER_FIELD), dict)


def pointer_of(entry: Entry) -> dict[str, Any] | None:
    """The claim-check pointer of an entry about to be published; None for a full event."""
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return None
    pointer = detail.get(POINTER_FIELD) if isinstance(detail, dict) else None
    return pointer if isinstance(pointer, dict) else None


def fetch_full_event(
    event: dict[str, Any],
    s3: Any = None,
    expected_bucket_owner: str | None = None,
    **json_options: Any,
) -> dict[str, Any]:
    """The full event for a delivered event: a pointer's S3 object, any other event as is.

    ``event`` is the event as a target receives it (the EventBridge envelope);
    the result is the same envelope with the full ``detail``. ``s3`` is a boto3
    S3 client (one is made when None); the caller needs s3:GetObject on the
    object; ``expected_bucket_owner`` (an account id) makes S3 refuse a bucket of
    that name owned by anyone else. ``json_options`` go to json.loads (e.g.
    parse_float=decimal.Decimal to keep every digit of large numbers). Raises
    ``ClaimCheckError`` (and nothing else for a bad pointer or object) when the full
    event cannot be had.
    """
    if not is_pointer(event):
        return event
    bucket, key, uri = _pointer_location(event["detail"][POINTER_FIELD])
    if s3 is None:
        import boto3  # noqa: PLC0415 - only consumers without a client need it

        s3 = boto3.client("s3")
    try:
        owner = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        data = s3.get_object(Bucket=bucket, Key=key, **owner)["Body"].read()
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
