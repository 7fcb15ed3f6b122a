"""The handler's own steps, as the CLI uses them: one implementation, not two.

Conversion (``fanout.records``), packing (``fanout.batching``), publishing
with per-entry retries (``fanout.publisher``) and the dead-letter format
(``fanout.dead_letter``) are the deployed function's code. Every use of the
``fanout`` package by the CLI goes through this module, so a change there is
followed here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.config import Config

from dynamodb_fanout.errors import CliError
from fanout import batching, limits
from fanout.dead_letter import MALFORMED, TOO_LARGE, DeadLetter, DeadLetterQueue, message_for
from fanout.deadline import Deadline
from fanout.handler import build_runtime, client_config, process
from fanout.publisher import Publisher
from fanout.records import Entry, MalformedRecord, StreamRecord, convert, decode
from fanout.settings import Settings

__all__ = [
    "MALFORMED",
    "TOO_LARGE",
    "DeadLetter",
    "Entry",
    "MalformedRecord",
    "Published",
    "convert_record",
    "dead_letter_body",
    "make_settings",
    "publish",
    "run_handler",
    "stored_entry",
    "with_detail_type",
]

MAX_DETAIL_TYPE_CHARS = 128  # PutEventsRequestEntry DetailType


def make_settings(
    event_bus: str,
    dlq_url: str = "",
    event_source: str | None = None,
    detail_format: str = "plain",
    max_attempts: int = 3,
    concurrency: int = 8,
) -> Settings:
    """The handler's settings object, filled from the CLI's options."""
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


def with_detail_type(entry: Entry, detail_type: str) -> Entry:
    """The same entry under another detail-type, its AWS size adjusted."""
    delta = len(detail_type.encode()) - len(entry.detail_type.encode())
    return dataclasses.replace(entry, detail_type=detail_type, size=entry.size + delta)


def stored_entry(index: int, record: Any, event: Mapping[str, Any]) -> Entry:
    """The entry kept in a DLQ message's ``event``, ready to send again as it was.

    The record is decoded only to tie the entry to it (by ``index``); the
    entry's fields are the stored ones, unchanged.
    """
    try:
        stream_record = decode(index, record)
    except MalformedRecord:
        stream_record = StreamRecord(index, {}, "", "", "", "", "", "", None, None)
    time = event.get("Time")
    moment = datetime.fromisoformat(time) if isinstance(time, str) and time else None
    texts = [event["Source"], event["DetailType"], event["Detail"], *event.get("Resources", [])]
    size = (limits.PUT_EVENTS_TIME_BYTES if moment else 0) + sum(len(t.encode()) for t in texts)
    return Entry(
        stream_record,
        event["Source"],
        event["DetailType"],
        event["Detail"],
        tuple(event.get("Resources", [])),
        moment,
        size,
    )


@dataclass
class Published:
    """Where each entry (by its record index) ended: published, failed with why, too large."""

    published: list[int] = field(default_factory=list)
    failed: dict[int, tuple[str, str, str, int]] = field(default_factory=dict)
    too_large: list[Entry] = field(default_factory=list)
    calls: int = 0

    def letters(self, entries: Mapping[int, Entry], budget: int) -> list[DeadLetter]:
        """Dead letters for what was not published, as the handler writes them."""
        out = []
        for index, (reason, code, message, attempts) in sorted(self.failed.items()):
            entry = entries[index]
            out.append(
                DeadLetter(index, entry.record.raw, reason, f"{code}: {message}", attempts, entry)
            )
        for entry in self.too_large:
            message = f"event is {entry.size} bytes; a PutEvents request takes at most {budget}"
            out.append(
                DeadLetter(entry.record.index, entry.record.raw, TOO_LARGE, message, 0, entry)
            )
        return out


def events_client(aws: Any, region: str | None, concurrency: int) -> Any:
    """An EventBridge client for the publisher: its retries are per entry, not botocore's.

    Unlike in Lambda there is no invocation deadline to keep, so calls may
    take longer than the handler's short timeouts allow.
    """
    config = client_config(concurrency).merge(Config(connect_timeout=5, read_timeout=60))
    return aws.client("events", region, config, purpose="publish")


def publish(
    client: Any,
    event_bus: str,
    entries: Iterable[Entry],
    max_attempts: int = 3,
    concurrency: int = 4,
    max_bytes: int = limits.PUT_EVENTS_MAX_BYTES,
) -> Published:
    """Pack and send with the handler's batching and publisher; nothing here raises per entry."""
    if ":event-busv2/" in event_bus:
        raise CliError(
            f"{event_bus} is a new custom event bus (event-busv2): re-publishing to it in "
            "per-item order is not supported by dynamodb-fanout yet; see docs/ordered-bus.md"
        )
    result = Published()
    requests = batching.iter_requests(entries, result.too_large, max_bytes)
    outcome = Publisher(client, event_bus, max_attempts, concurrency).publish(
        requests, Deadline.unlimited()
    )
    result.published = list(outcome.published)
    result.calls = outcome.calls
    for failure in outcome.failed:
        result.failed[failure.entry.record.index] = (
            failure.reason,
            failure.error_code,
            failure.message,
            failure.attempts,
        )
    for entry in outcome.unsent:  # only with a deadline; kept for completeness
        result.failed[entry.record.index] = ("Unsent", "Unsent", "not sent", 0)
    return result


def dead_letter_body(letter: DeadLetter, event_bus: str) -> str:
    """The DLQ message body the handler would write for this letter."""
    return message_for(letter, limits.SQS_DEFAULT_MAX_MESSAGE_BYTES, event_bus).body


def park(
    sqs: Any, queue_url: str, event_bus: str, letters: list[DeadLetter]
) -> tuple[int, list[tuple[DeadLetter, str]]]:
    """Send dead letters as the handler does: (parked count, what could not be parked)."""
    queue = DeadLetterQueue(sqs, queue_url, limits.SQS_DEFAULT_MAX_MESSAGE_BYTES, event_bus)
    sent = queue.send(letters)
    return len(sent.parked), list(sent.unparked)


def run_handler(records: list[dict[str, Any]], settings: Settings, session: Any) -> list[str]:
    """Run the handler's whole code path on records; the sequence numbers it reports back.

    The handler's metrics line (meant for CloudWatch Logs) is kept off the
    terminal.
    """
    runtime = build_runtime(settings, session)
    with redirect_stdout(io.StringIO()):
        response = process({"Records": records}, None, runtime)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]
