"""The handler's own steps, as the CLI uses them: one implementation, not two.

Conversion (``fanout.records``), packing (``fanout.batching``), publishing
with per-entry retries (``fanout.publisher``) and the dead-letter format
(``fanout.dead_letter``) are the deployed function's code. Every use of the
``fanout`` package by the CLI goes through this module, so a change there is
followed here and nowhere else.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.config import Config

from dynamodb_fanout.errors import CliError
from fanout import (
    EXHAUSTED,
    MALFORMED,
    REJECTED,
    TOO_LARGE,
    ClaimCheck,
    Clients,
    DeadLetter,
    DeadLetterQueue,
    Entry,
    MalformedRecord,
    Settings,
    StreamRecord,
    build_runtime,
    client_config,
    convert,
    decode,
    entry_size,
    number,
    pointer_of,
    process,
    to_json,
)
from fanout.dead_letter import message_for

__all__ = [
    "MALFORMED",
    "REJECTED",
    "TOO_LARGE",
    "DeadLetter",
    "Entry",
    "MalformedRecord",
    "Sent",
    "convert_record",
    "dead_letter_body",
    "insert_record",
    "is_pointer_entry",
    "make_settings",
    "record_complete",
    "run_handler",
    "send",
    "stored_entry",
    "with_detail",
]

MAX_DETAIL_TYPE_CHARS = 128  # PutEventsRequestEntry DetailType
# The images a record of each StreamViewType carries, by eventName (DynamoDB Streams API).
_IMAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "KEYS_ONLY": {"INSERT": (), "MODIFY": (), "REMOVE": ()},
    "NEW_IMAGE": {"INSERT": ("NewImage",), "MODIFY": ("NewImage",), "REMOVE": ()},
    "OLD_IMAGE": {"INSERT": (), "MODIFY": ("OldImage",), "REMOVE": ("OldImage",)},
    "NEW_AND_OLD_IMAGES": {
        "INSERT": ("NewImage",),
        "MODIFY": ("NewImage", "OldImage"),
        "REMOVE": ("OldImage",),
    },
}


def make_settings(
    event_bus: str,
    dlq_url: str = "",
    event_source: str | None = None,
    detail_format: str = "plain",
    max_attempts: int = 3,
    concurrency: int = 8,
) -> Settings:
    """The handler's settings object, filled from explicit values (tests, check-pattern)."""
    return Settings(
        event_bus_name=event_bus,
        dlq_url=dlq_url,
        event_source=event_source,
        max_attempts=max_attempts,
        detail_format=detail_format,
        publish_concurrency=concurrency,
    )


def convert_record(index: int, raw: Mapping[str, Any], settings: Settings) -> Entry:
    """A stream record → its EventBridge entry, exactly as the handler converts it."""
    return convert(decode(index, raw), settings)


def record_complete(raw: Any) -> bool:
    """Whether a parked record is the whole stream record: it decodes and has every image
    its StreamViewType promises for its eventName (a DLQ body cut to keys has none)."""
    try:
        record = decode(0, raw)
    except MalformedRecord:
        return False
    by_event: dict[str, tuple[str, ...]] = _IMAGES.get(str(record.view_type), {})
    wanted = by_event.get(record.event_name, ())  # an unknown view type: nothing is promised
    ddb = raw["dynamodb"]
    return all(isinstance(ddb.get(name), Mapping) for name in wanted)


def with_detail(entry: Entry, detail_type: str | None = None, **fields: Any) -> Entry:
    """The same entry under another detail-type and/or with detail fields set, size recomputed."""
    detail = entry.detail
    if fields:
        value = json.loads(detail, parse_float=number, parse_int=number)
        value.update(fields)
        detail = to_json(value)
    detail_type = detail_type or entry.detail_type
    size = entry_size(entry.source, detail_type, detail, entry.resources, entry.time is not None)
    return dataclasses.replace(entry, detail_type=detail_type, detail=detail, size=size)


def insert_record(
    item: Mapping[str, Any],
    keys: Mapping[str, Any],
    table_arn: str,
    region: str,
    event_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The record a stream would carry for an INSERT of this item (no sequence of its own)."""
    return {
        "eventID": event_id,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "eventSourceARN": table_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": now,
            "Keys": dict(keys),
            "NewImage": dict(item),
            "SequenceNumber": "0",
            "StreamViewType": "NEW_IMAGE",
        },
    }


def key_digest(keys: Mapping[str, Any]) -> str:
    """A short stable digest of an item's key (binary keys included) for event IDs."""
    text = json.dumps(keys, sort_keys=True, default=_jsonable_key)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _jsonable_key(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(_jsonable_key(v) if isinstance(v, bytes) else v for v in value)
    raise TypeError(f"{type(value).__name__} in a key")


class BadEvent(ValueError):
    """A stored event that is not a PutEvents entry the fan-out wrote."""


def stored_entry(index: int, record: Any, event: Any) -> Entry:
    """The entry kept in a DLQ message's ``event``, checked field by field, ready to send again.

    Raises BadEvent for anything the handler would not have written, so a
    wrong-shaped message is left alone instead of being published mangled.
    """
    if not isinstance(event, Mapping):
        raise BadEvent(f"event is a {type(event).__name__}, not an object")
    texts: dict[str, str] = {}
    for name in ("Source", "DetailType", "Detail"):
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise BadEvent(f"event.{name} is not a non-empty string")
        texts[name] = value
    resources = event.get("Resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise BadEvent("event.Resources is not a list of strings")
    try:
        detail = json.loads(texts["Detail"], parse_float=number, parse_int=number)
    except ValueError as exc:
        raise BadEvent(f"event.Detail is not JSON: {exc}") from None
    if not isinstance(detail, dict):
        raise BadEvent("event.Detail is not a JSON object")
    time = event.get("Time")
    try:
        moment = datetime.fromisoformat(time) if time is not None else None
    except (TypeError, ValueError):
        raise BadEvent(f"event.Time {str(time)[:40]!r} is not an ISO-8601 time") from None
    try:
        stream_record = decode(index, record)
    except MalformedRecord:
        stream_record = StreamRecord(index, {}, "", "", "", "", "", "", None, None)
    size = entry_size(
        texts["Source"], texts["DetailType"], texts["Detail"], tuple(resources), moment is not None
    )
    return Entry(
        stream_record,
        texts["Source"],
        texts["DetailType"],
        texts["Detail"],
        tuple(resources),
        moment,
        size,
    )


def is_pointer_entry(entry: Entry) -> dict[str, Any] | None:
    """The claim-check pointer of a pointer entry, None for a full event."""
    return pointer_of(entry)


@dataclass
class Sent:
    """Where each entry (by its record index) ended, as the function would have sent it."""

    published: set[int] = field(default_factory=set)
    claim_checked: set[int] = field(default_factory=set)  # of published: as a pointer
    failed: dict[int, tuple[str, str, str, int]] = field(default_factory=dict)
    too_large: dict[int, DeadLetter] = field(default_factory=dict)  # the function's oversize rule
    calls: int = 0

    def letters(self, entries: Mapping[int, Entry]) -> list[DeadLetter]:
        """Dead letters for what was not published, as the handler writes them."""
        out = list(self.too_large.values())
        for index, (reason, code, message, attempts) in self.failed.items():
            entry = entries[index]
            out.append(
                DeadLetter(index, entry.record.raw, reason, f"{code}: {message}", attempts, entry)
            )
        return sorted(out, key=lambda letter: letter.index)


def events_client(aws: Any, region: str | None, concurrency: int) -> Any:
    """An EventBridge client for the publisher: its retries are per entry, not botocore's.

    Unlike in Lambda there is no invocation deadline to keep, so calls may
    take longer than the handler's short timeouts allow.
    """
    config = client_config(concurrency).merge(Config(connect_timeout=5, read_timeout=60))
    return aws.client("events", region, config, purpose="publish")


def claim_check_for(aws: Any, settings: Settings) -> ClaimCheck | None:
    """The function's claim-check store (LARGE_EVENT_BUCKET), None when it has none."""
    if not settings.large_event_bucket:
        return None
    return ClaimCheck(aws.client("s3"), settings.large_event_bucket, settings.large_event_prefix)


def send(
    client: Any,
    bus: str,
    settings: Settings,
    entries: Iterable[Entry],
    claim_check: ClaimCheck | None = None,
    concurrency: int = 4,
) -> Sent:
    """Send entries as the function does, through its delivery engine: under its size cap
    as they are, above it by claim-check (with a bucket) or not at all; never raises per entry."""
    if ":event-busv2/" in bus:
        raise CliError(
            f"{bus} is a new custom event bus (event-busv2): re-publishing to it in "
            "per-item order is not supported by dynamodb-fanout yet; see docs/ordered-bus.md"
        )
    config = dataclasses.replace(settings, event_bus_name=bus, publish_concurrency=concurrency)
    s3 = claim_check.s3 if claim_check is not None else None
    if s3 is None:
        config = dataclasses.replace(config, large_event_bucket=None)
    runtime = build_runtime(config, Clients(client, s3=s3))
    outcome = runtime.publish(entries)
    result = Sent(published=set(outcome.published), claim_checked=set(outcome.claim_checked))
    result.calls = outcome.calls
    for letter in outcome.letters:
        if letter.reason == TOO_LARGE:
            result.too_large[letter.index] = letter
        else:
            code, _, message = letter.message.partition(": ")
            result.failed[letter.index] = (letter.reason, code, message, letter.attempts)
    for left in outcome.left:  # retryable: out of attempts, or never sent
        code, _, message = left.why.partition(": ")
        reason = EXHAUSTED if left.attempts else "Unsent"
        result.failed[left.envelope.index] = (reason, code, message or left.why, left.attempts)
    return result


def dead_letter_body(letter: DeadLetter, settings: Settings) -> str:
    """The DLQ message body the handler would write for this letter."""
    return message_for(letter, settings.dlq_max_bytes, settings.event_bus_name).body


def park(
    sqs: Any, settings: Settings, letters: list[DeadLetter]
) -> tuple[int, list[tuple[DeadLetter, str]]]:
    """Send dead letters as the handler does, under its DLQ_MAX_BYTES: (parked, not parked)."""
    queue = DeadLetterQueue(sqs, settings.dlq_url, settings.dlq_max_bytes, settings.event_bus_name)
    sent = queue.send(letters)
    return len(sent.parked), list(sent.unparked)


def run_handler(records: list[dict[str, Any]], settings: Settings, session: Any) -> list[str]:
    """Run the handler's whole code path on records; the sequence numbers it reports back.

    The handler's metrics line (meant for CloudWatch Logs) is kept off the
    terminal.
    """
    runtime = build_runtime(settings, session=session)
    with redirect_stdout(io.StringIO()):
        response = process({"Records": records}, None, runtime)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]
