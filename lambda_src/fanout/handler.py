"""Lambda entry point: decode → convert → batch → publish → dead-letter → respond.

Settings and clients are made once per execution environment (at init in
Lambda, on first use elsewhere) and reused by every invocation.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from fanout import batching, metrics
from fanout.dead_letter import MALFORMED, TOO_LARGE, DeadLetter, DeadLetterQueue
from fanout.deadline import Deadline
from fanout.publisher import Failure, Publisher
from fanout.records import Entry, MalformedRecord, convert, decode
from fanout.response import batch_item_failures
from fanout.settings import Settings

logger = logging.getLogger("fanout")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings and the clients built from them, shared by invocations."""

    settings: Settings
    publisher: Publisher
    dead_letters: DeadLetterQueue


def client_config(concurrency: int) -> Config:
    """botocore retries off (we retry per entry), short timeouts, one pool slot per thread."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=1,
        read_timeout=4,
        max_pool_connections=max(10, concurrency),
    )


def build_runtime(settings: Settings, session: Any = None) -> Runtime:
    """Clients for the bus and the DLQ, configured from the settings."""
    session = session or boto3.session.Session()
    config = client_config(settings.publish_concurrency)
    events = session.client("events", region_name=settings.event_bus_region, config=config)
    sqs = session.client("sqs", config=config)
    return Runtime(
        settings=settings,
        publisher=Publisher(
            events, settings.event_bus_name, settings.max_attempts, settings.publish_concurrency
        ),
        dead_letters=DeadLetterQueue(
            sqs, settings.dlq_url, settings.dlq_max_bytes, settings.event_bus_name
        ),
    )


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The shared runtime, read from the environment on first use."""
    global _runtime  # noqa: PLW0603 - one per execution environment, by design
    if _runtime is None:
        settings = Settings.from_env(os.environ)
        logger.setLevel(settings.log_level)
        _runtime = build_runtime(settings)
    return _runtime


def reset() -> None:
    """Forget the shared runtime, so the next call reads the environment again."""
    global _runtime  # noqa: PLW0603
    _runtime = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list]:
    """The function's handler: fan the stream batch out to the bus."""
    return process(event, context, runtime())


def process(event: dict[str, Any], context: Any, rt: Runtime) -> dict[str, list]:
    """Publish every record or park it; report the rest. Never raises for a record."""
    started = time.perf_counter()
    records = list((event or {}).get("Records") or [])
    counts = metrics.Counts(records=len(records))

    letters: list[DeadLetter] = []  # filled as records are converted and sent
    too_large: list[Entry] = []
    entries = _convert_all(records, rt.settings, letters)
    requests = batching.iter_requests(entries, too_large, rt.settings.max_event_bytes)
    deadline = Deadline.from_context(context)
    outcome = rt.publisher.publish(_logged(requests, rt.settings.event_bus_name), deadline)

    letters += [_too_large(entry, rt.settings.max_event_bytes) for entry in too_large]
    letters += [_failed(failure) for failure in outcome.failed]
    accounted = set(outcome.published)
    accounted |= _park(letters, rt.dead_letters, deadline, counts)
    response = batch_item_failures(records, accounted)

    counts.published = len(outcome.published)
    counts.retried = outcome.retried
    counts.put_events_calls = outcome.calls
    counts.reported = len(response["batchItemFailures"])
    duration_ms = (time.perf_counter() - started) * 1000
    metrics.emit(counts, _function_name(context), duration_ms)
    return response


def _too_large(entry: Entry, budget: int) -> DeadLetter:
    message = f"event is {entry.size} bytes; a PutEvents request takes at most {budget}"
    return DeadLetter(entry.record.index, entry.record.raw, TOO_LARGE, message, entry=entry)


def _failed(failure: Failure) -> DeadLetter:
    record = failure.entry.record
    message = f"{failure.error_code}: {failure.message}"
    return DeadLetter(
        record.index, record.raw, failure.reason, message, failure.attempts, failure.entry
    )


def _park(
    letters: list[DeadLetter], queue: DeadLetterQueue, deadline: Deadline, counts: metrics.Counts
) -> set[int]:
    """Send the dead letters; the indices of the records now safely parked."""
    if not letters:
        return set()
    sent = queue.send(letters, deadline)
    counts.dead_lettered.update(letter.reason for letter in sent.parked)
    counts.dead_letter_calls = sent.calls
    counts.not_parked = len(sent.unparked)
    for letter, error in sent.unparked:
        logger.error(
            "could not park record %d (%s) in the DLQ: %s", letter.index, letter.reason, error
        )
    return {letter.index for letter in sent.parked}


def _logged(
    requests: Iterator[batching.PutEventsRequest], bus: str
) -> Iterator[batching.PutEventsRequest]:
    """At DEBUG only, log each request's entries (they carry item data)."""
    debug = logger.isEnabledFor(logging.DEBUG)
    for request in requests:
        if debug:
            logger.debug("PutEvents entries: %s", [e.to_api(bus) for e in request.entries])
        yield request


def _function_name(context: Any) -> str:
    name = getattr(context, "function_name", None)
    return name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")


def _convert_all(
    records: list[Any], settings: Settings, malformed: list[DeadLetter]
) -> Iterator[Entry]:
    """Entries for the good records, lazily; dead letters for the malformed ones."""
    for index, raw in enumerate(records):
        try:
            yield convert(decode(index, raw), settings)
        except MalformedRecord as exc:
            malformed.append(DeadLetter(index, raw, MALFORMED, str(exc)))
        except Exception as exc:  # e.g. nesting too deep: park the record, keep the batch
            message = f"cannot convert the record: {type(exc).__name__}: {exc}"
            malformed.append(DeadLetter(index, raw, MALFORMED, message[:1000]))


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_LAMBDA_RUNTIME_API" in os.environ:
    # In Lambda: fail at init with a clear message if the configuration is bad.
    runtime()
