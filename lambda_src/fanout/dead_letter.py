"""Park what could not be published in the SQS dead-letter queue, with the reason.

Building messages is pure (``message_for``); ``DeadLetterQueue`` sends them
with SendMessageBatch, retrying failed entries a bounded number of times.
A record whose message could not be sent is simply not parked: the handler
reports it back to Lambda, which delivers it again.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fanout import limits
from fanout.aws_errors import attempts, classify
from fanout.deadline import Deadline
from fanout.records import Entry, iso_utc, jsonable, table_name_of, utf8_len

# Why a record is parked: the message's "reason" and its reason attribute (docs/events.md).
MALFORMED = "MalformedRecord"  # the record cannot be decoded or converted
TOO_LARGE = "EventTooLarge"  # over the size budget, and claim-check cannot carry it
REJECTED = "PutEventsRejected"  # PutEvents refused it for good: validation, access, malformed
EXHAUSTED = "RetriesExhausted"  # still retryable, parked because the stream would drop it

SEND_ATTEMPTS = 3
_KEEP_WHEN_TRUNCATED = (
    "Keys",
    "SequenceNumber",
    "SizeBytes",
    "StreamViewType",
    "ApproximateCreationDateTime",
)
_MAX_MESSAGE_CHARS = 1000
_SAFE_ATTRIBUTE = re.compile(r"[A-Za-z0-9_.\-]{1,256}")  # reasons, table and event names


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record bound for the dead-letter queue."""

    index: int  # position in the invocation's batch
    record: Any  # the stream record as Lambda delivered it
    reason: str
    message: str
    attempts: int = 0
    entry: Entry | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A SendMessageBatch entry and its size as SQS counts it."""

    letter: DeadLetter
    body: str
    attributes: dict[str, dict[str, str]]
    size: int


def _json_default(value: Any) -> Any:
    """Records from get_records carry bytes, datetimes and sets: written as Lambda would."""
    converted = jsonable(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return converted


def _dumps(body: dict[str, Any]) -> str:
    # ASCII only: SQS accepts a restricted set of Unicode characters.
    return json.dumps(body, separators=(",", ":"), default=_json_default)


def _event_json(entry: Entry, event_bus_name: str) -> dict[str, Any]:
    event = entry.to_api(event_bus_name)
    if entry.time is not None:
        event["Time"] = iso_utc(entry.time)
    return event


def _attributes(letter: DeadLetter) -> dict[str, dict[str, str]]:
    """reason, table and eventName, from values known to be plain, short text.

    A malformed record's own fields never become attributes: SQS rejects
    characters outside its set, and an attribute is never trimmed.
    """
    record = letter.record if isinstance(letter.record, dict) else {}
    event_name = record.get("eventName")
    if letter.entry is not None:
        table: str | None = letter.entry.record.table_name
    else:
        table = table_name_of(record.get("eventSourceARN"))
    values = {
        "reason": letter.reason,
        "table": table,
        "eventName": event_name if isinstance(event_name, str) else None,
    }
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in values.items()
        if isinstance(value, str)
        and _SAFE_ATTRIBUTE.fullmatch(value)
        and (name != "eventName" or value in limits.EVENT_NAMES)
    }


def _attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    return sum(
        len(name.encode()) + len(a["DataType"].encode()) + len(a["StringValue"].encode())
        for name, a in attributes.items()
    )


def _keys_and_metadata(record: Any) -> Any:
    """Keys and metadata only: enough to find the item again, if it still exists."""
    if not isinstance(record, dict) or not isinstance(record.get("dynamodb"), dict):
        return None
    slim = {k: v for k, v in record.items() if k != "dynamodb"}
    slim["dynamodb"] = {k: v for k, v in record["dynamodb"].items() if k in _KEEP_WHEN_TRUNCATED}
    return slim


def _identity(record: Any, chars: int = 256) -> dict[str, str]:
    """The few strings that name a record, for one that cannot be written otherwise."""
    if not isinstance(record, dict):
        return {"type": type(record).__name__}
    ddb = found if isinstance(found := record.get("dynamodb"), dict) else {}
    fields = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventSourceARN": record.get("eventSourceARN"),
        "SequenceNumber": ddb.get("SequenceNumber"),
    }
    return {k: str(v)[:chars] for k, v in fields.items() if v is not None}


def _try_dumps(body: dict[str, Any]) -> str | None:
    try:
        return _dumps(body)
    except (TypeError, ValueError, RecursionError):
        return None


def _ladder(letter: DeadLetter, event_bus_name: str) -> Iterator[dict[str, Any]]:
    """The bodies to try, largest first: each step drops more (docs/events.md).

    record + event → record only → keys + metadata → ids. A REMOVE keeps its
    OldImage whenever the record alone fits: the table no longer has it.
    """
    head = {"reason": letter.reason, "message": letter.message, "attempts": letter.attempts}
    if letter.entry is not None:
        yield {**head, "record": letter.record, "event": _event_json(letter.entry, event_bus_name)}
    else:
        yield {**head, "record": letter.record}
    head = {**head, "message": letter.message[:_MAX_MESSAGE_CHARS], "truncated": True}
    if letter.entry is not None or len(letter.message) > _MAX_MESSAGE_CHARS:
        yield {**head, "record": letter.record}
    slim = _keys_and_metadata(letter.record)
    if slim is not None:
        yield {**head, "record": slim}
    yield {**head, "record": _identity(letter.record)}
    for chars in (64, 16, 0):
        yield {
            "reason": letter.reason,
            "record": _identity(letter.record, chars),
            "truncated": True,
        }


def message_for(letter: DeadLetter, max_bytes: int, event_bus_name: str) -> Message:
    """The DLQ message body (docs/events.md), stepped down until it fits max_bytes.

    Every step is measured in UTF-8 bytes with the message attributes, as
    SQS counts them. The last step (the reason and nothing else) always fits:
    DLQ_MAX_BYTES is at least 1024.
    """
    attributes = _attributes(letter)
    budget = max_bytes - _attributes_size(attributes)
    text = _dumps({"reason": letter.reason, "truncated": True})
    for body in _ladder(letter, event_bus_name):
        candidate = _try_dumps(body)
        if candidate is not None and utf8_len(candidate) <= budget:
            text = candidate
            break
    return Message(letter, text, attributes, utf8_len(text) + _attributes_size(attributes))


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A DLQ message body read back: what ``message_for`` wrote, checked field by field."""

    reason: str
    message: str
    attempts: int
    record: Any  # the stream record, or the part of it that fitted
    event: Any  # the entry as it was to be sent, when it fitted (None otherwise)
    truncated: bool


class NotADeadLetter(ValueError):
    """A message body this fan-out did not write: not JSON, or not its shape."""


def read_message(body: str) -> ParkedMessage:
    """The reader next to the writer: a body ``message_for`` wrote, or NotADeadLetter.

    Nothing read here is trusted further: the record is what a recovery
    command rebuilds the event from, and it checks where it came from.
    """
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise NotADeadLetter(f"not JSON: {body[:80]!r}") from None
    if not isinstance(value, dict) or not isinstance(value.get("reason"), str):
        raise NotADeadLetter(f"not a fan-out message: {body[:80]!r}")
    if "record" not in value:
        raise NotADeadLetter(f"not a fan-out message (no record): {body[:80]!r}")
    attempts = value.get("attempts", 0)
    return ParkedMessage(
        reason=value["reason"],
        message=str(value.get("message", "")),
        attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0,
        record=value["record"],
        event=value.get("event"),
        truncated=value.get("truncated") is True,
    )


def pack(messages: Iterable[Message], max_bytes: int) -> list[list[Message]]:
    """SendMessageBatch groups: at most 10 messages and max_bytes in all."""
    batches: list[list[Message]] = []
    current: list[Message] = []
    size = 0
    for message in messages:
        full = len(current) == limits.SEND_MESSAGE_BATCH_MAX_ENTRIES
        if current and (full or size + message.size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(message)
        size += message.size
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True, slots=True)
class SendResult:
    """Which letters are parked, and the ones that are not, with the last error."""

    parked: list[DeadLetter]
    unparked: list[tuple[DeadLetter, str]]
    calls: int


class DeadLetterQueue:
    """SendMessageBatch to the DLQ in record order, retrying failed entries a few times.

    The SQS client is built on first use (most invocations park nothing), or
    given ready-made.
    """

    def __init__(
        self,
        client: Any,
        queue_url: str,
        max_bytes: int,
        event_bus_name: str,
        sleep: Callable[[float], None] = time.sleep,
        factory: Callable[[], Any] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._factory = factory
        self.queue_url = queue_url
        self.max_bytes = max_bytes
        self.event_bus_name = event_bus_name
        self.sleep = sleep
        self.jitter = jitter

    @property
    def client(self) -> Any:
        if self._client is None and self._factory is not None:
            self._client = self._factory()
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    def send(self, letters: Sequence[DeadLetter], deadline: Deadline | None = None) -> SendResult:
        """Park the letters in record order; stop at the first that cannot be parked.

        Lambda delivers again from the first record not accounted for, so a
        letter after one that failed would only be parked twice: it is left
        for the next delivery, and every delivery parks a longer prefix.
        """
        deadline = deadline or Deadline.unlimited()
        ordered = sorted(letters, key=lambda letter: letter.index)
        messages = [message_for(x, self.max_bytes, self.event_bus_name) for x in ordered]
        parked: list[DeadLetter] = []
        unparked: list[tuple[DeadLetter, str]] = []
        calls = 0
        batches = pack(messages, self.max_bytes)
        for position, batch in enumerate(batches):
            done, failed, used = self._send_batch(batch, deadline)
            parked += done
            unparked += failed
            calls += used
            if failed:
                later = [m.letter for rest in batches[position + 1 :] for m in rest]
                unparked += [(x, "not sent: an earlier record could not be parked") for x in later]
                break
        return SendResult(parked, unparked, calls)

    def _send_batch(
        self, batch: list[Message], deadline: Deadline
    ) -> tuple[list[DeadLetter], list[tuple[DeadLetter, str]], int]:
        """Send one group; retry what SQS did not take unless it cannot succeed."""
        pending = {str(i): m for i, m in enumerate(batch)}
        errors: dict[str, str] = {}
        parked: list[DeadLetter] = []
        given_up: list[tuple[DeadLetter, str]] = []
        calls = 0
        keep = deadline.park_reserve_ms
        for limit_ms in attempts(deadline, SEND_ATTEMPTS, self.sleep, self.jitter, keep):
            calls += 1
            entries = [
                {"Id": key, "MessageBody": m.body, "MessageAttributes": m.attributes}
                for key, m in pending.items()
            ]
            try:
                response = deadline.call(
                    self.client.send_message_batch,
                    limit_ms,
                    QueueUrl=self.queue_url,
                    Entries=entries,
                )
            except Exception as exc:  # the DLQ being down must not lose the batch
                error = classify(exc)
                errors.update(dict.fromkeys(pending, f"{error.code}: {error.message}"))
                if not error.retryable:  # access denied, no such queue: the same next time
                    break
                continue
            for ok in response.get("Successful") or []:
                if ok.get("Id") in pending:
                    parked.append(pending.pop(ok["Id"]).letter)
            for failed in response.get("Failed") or []:
                key = failed.get("Id")
                if key not in pending:
                    continue
                errors[key] = f"{failed.get('Code')}: {failed.get('Message', '')}"
                if failed.get("SenderFault"):  # sending it again would fail again
                    given_up.append((pending.pop(key).letter, errors[key]))
            if not pending:
                break
        no_time = "no time left in the invocation to send"
        given_up += [(m.letter, errors.get(k, no_time)) for k, m in pending.items()]
        given_up.sort(key=lambda pair: pair[0].index)
        return parked, given_up, calls
