"""Lambda entry point: decode → convert → batch → publish → dead-letter → respond.

Settings and clients are made once per execution environment (at init in
Lambda, on first use elsewhere) and reused by every invocation.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from fanout import batching, metrics, ordering
from fanout.claim_check import ClaimCheck
from fanout.dead_letter import MALFORMED, TOO_LARGE, DeadLetter, DeadLetterQueue
from fanout.deadline import CALL_MIN_MS, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, Deadline
from fanout.eventbridge_v2 import OrderedPublisher, Pacing
from fanout.publisher import EXHAUSTED, Failure, Outcome, Publisher
from fanout.rate import AdaptiveRate
from fanout.records import Entry, MalformedRecord, convert, decode
from fanout.response import batch_item_failures, reported_count
from fanout.settings import Settings
from fanout.valve import SafetyValve

logger = logging.getLogger("fanout")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings and the clients built from them, shared by invocations."""

    settings: Settings
    publisher: Publisher | OrderedPublisher  # OrderedPublisher for an event-busv2 ARN
    dead_letters: DeadLetterQueue
    claim_check: ClaimCheck | None = None  # with LARGE_EVENT_BUCKET
    valve: SafetyValve = field(default_factory=lambda: SafetyValve(None, None))

    @property
    def rate(self) -> AdaptiveRate | Pacing | None:
        """The publishing rate every request of this environment shares (None: unpaced)."""
        return self.publisher.rate


_VALIDATE = Config(parameter_validation=True)  # the DLQ path is rare: keep botocore's checks


def client_config(concurrency: int) -> Config:
    """botocore retries off (we retry per entry), short timeouts, one pool slot per thread.

    Parameter validation is off: PutEvents entries are built and measured by
    records and batching, and botocore's walk over them costs µs per record.
    """
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        max_pool_connections=max(10, concurrency),
        parameter_validation=False,
    )


def build_runtime(settings: Settings, session: Any = None) -> Runtime:
    """Clients for the bus and the DLQ, configured from the settings.

    The SQS client is built only when a record first needs parking.
    """
    session = session or boto3.session.Session()
    config = client_config(settings.publish_concurrency)
    return Runtime(
        settings=settings,
        publisher=_publisher(settings, session, config),
        dead_letters=DeadLetterQueue(
            None,
            settings.dlq_url,
            settings.dlq_max_bytes,
            settings.event_bus_name,
            factory=lambda: session.client("sqs", config=config.merge(_VALIDATE)),
        ),
        claim_check=(
            ClaimCheck(
                session.client("s3", config=config),
                settings.large_event_bucket,
                settings.large_event_prefix,
            )
            if settings.large_event_bucket
            else None
        ),
        valve=SafetyValve(settings.maximum_record_age_s, settings.maximum_retry_attempts),
    )


def _publisher(settings: Settings, session: Any, config: Config) -> Publisher | OrderedPublisher:
    """The transport for the configured bus: classic, or the new custom event bus (ordered)."""
    service = "eventbridgev2" if settings.ordered else "events"
    client = session.client(service, region_name=settings.event_bus_region, config=config)
    _build_user_agent_once(client)
    if settings.ordered:
        return OrderedPublisher(
            client,
            settings.event_bus_name,
            settings.max_attempts,
            settings.publish_concurrency,
            max_bytes=settings.max_event_bytes,
            rate=AdaptiveRate(),  # one per execution environment, as on the classic bus
        )
    return Publisher(
        client, settings.event_bus_name, settings.max_attempts, settings.publish_concurrency
    )


def _build_user_agent_once(client: Any) -> None:
    """botocore builds the User-Agent header twice per request; once is enough.

    The second build, just before sending, only adds usage-feature codes to
    the header. It costs several µs per record on the hot path. If this
    botocore has no such hook, nothing changes.
    """
    creator = getattr(client, "_user_agent_creator", None)
    rebuild = getattr(creator, "rebuild_and_replace_user_agent_handler", None)
    if rebuild is not None:
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.unregister(f"request-created.{service_id}", rebuild)


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


def process(event: Any, context: Any, rt: Runtime) -> dict[str, list]:
    """Publish every record or park it; report the rest. Never raises for bad input."""
    started = time.perf_counter()
    # The event and the clients outlive the invocation's work: frozen, the
    # garbage collector does not scan them again and again while thousands
    # of short-lived objects are made (it nearly doubled conversion time).
    gc.freeze()
    try:
        response, counts = _process(event, context, rt)
    finally:
        gc.unfreeze()
    duration_ms = (time.perf_counter() - started) * 1000
    metrics.emit(counts, _function_name(context), duration_ms)
    return response


def _process(event: Any, context: Any, rt: Runtime) -> tuple[dict[str, list], metrics.Counts]:
    deadline = Deadline.from_context(context)
    records, problem = _records_of(event)
    counts = metrics.Counts(records=len(records))
    if problem is not None:
        response = _bad_event(event, problem, rt, deadline, counts)
    else:
        response = _fan_out(records, rt, deadline, counts)
    return response, counts


def _fan_out(
    records: list[Any], rt: Runtime, deadline: Deadline, counts: metrics.Counts
) -> dict[str, list]:
    reports_before = rt.valve.reports_before(records)
    if rt.valve.last_chance(reports_before):
        deadline.expect_letters(len(records))  # whatever is not published gets parked
    if isinstance(rt.publisher, OrderedPublisher):
        return _fan_out_ordered(records, rt, rt.publisher, deadline, counts, reports_before)
    letters: list[DeadLetter] = []  # what cannot succeed, filled as records are converted
    too_large: list[Entry] = []
    entries = _capped(
        _convert_all(records, rt.settings, letters, deadline), rt, too_large, deadline
    )
    requests = batching.iter_requests(entries, too_large, rt.settings.max_event_bytes)
    outcome = rt.publisher.publish(_logged(requests, rt.settings.event_bus_name), deadline)

    problems: dict[int, str] = {}  # record index -> why claim-check could not carry it
    untried: list[Entry] = []  # too large, and no time to store them: reported back
    if too_large and rt.claim_check is not None:
        too_large, untried = _claim_check(too_large, rt, deadline, outcome, problems, counts)
    letters += [oversize(e, rt.settings, problems.get(e.record.index)) for e in too_large]
    return _respond(records, outcome, letters, untried, rt, deadline, counts, reports_before)


def _respond(
    records: list[Any],
    outcome: Outcome,
    letters: list[DeadLetter],
    untried: list[Entry],
    rt: Runtime,
    deadline: Deadline,
    counts: metrics.Counts,
    reports_before: int,
) -> dict[str, list]:
    """Park what cannot succeed (and what the stream would drop); report the rest."""
    letters += [_failed(failure) for failure in outcome.failed if not failure.retryable]
    left: dict[int, Failure | Entry] = {f.entry.record.index: f for f in outcome.failed}
    left.update((entry.record.index, entry) for entry in outcome.unsent + untried)
    published = set(outcome.published)
    held, first_reported = _valve(records, published, letters, left, rt, deadline, reports_before)
    # Lambda delivers again from the first record reported: letters after it
    # would only be parked twice.
    letters = sorted(
        (letter for letter in letters + held if letter.index < first_reported),
        key=lambda letter: letter.index,
    )
    accounted = published | _park(letters, rt.dead_letters, deadline, counts)
    response = batch_item_failures(records, accounted)
    rt.valve.reported(response, reports_before)

    counts.published = len(outcome.published)
    counts.retried = outcome.retried
    counts.throttled = outcome.throttled
    counts.put_events_calls = outcome.calls
    counts.reported = reported_count(records, accounted)
    counts.publish_rate = rt.rate.per_second if rt.rate is not None else 0.0
    counts.held = sum(1 for letter in held if letter.index in accounted)
    return response


def _valve(
    records: list[Any],
    published: set[int],
    letters: list[DeadLetter],
    left: dict[int, Failure | Entry],
    rt: Runtime,
    deadline: Deadline,
    reports_before: int,
) -> tuple[list[DeadLetter], int]:
    """Letters for the leftovers the stream would drop, and the first record to report.

    Leftovers are taken in record order (the oldest first) until one may be
    reported safely; that one and everything after it are reported.
    """
    final = {letter.index for letter in letters}
    left_s = 0.0 if not deadline.limited else max(0.0, deadline.left_ms()) / 1000
    held: list[DeadLetter] = []
    for index, raw in enumerate(records):
        if index in published or index in final:
            continue
        why = rt.valve.why_park(raw, reports_before, left_s)
        if why is None:
            return held, index
        held.append(_held(index, raw, left.get(index), why))
    return held, len(records)


def _held(index: int, raw: Any, left: Failure | Entry | None, why: str) -> DeadLetter:
    """A retryable record parked because reporting it again would let the stream drop it."""
    note = f"parked instead of reported back: {why}"
    if isinstance(left, Failure):
        message = f"{left.error_code}: {left.message}; {note}"
        return DeadLetter(index, raw, EXHAUSTED, message, left.attempts, left.entry)
    if isinstance(left, Entry):
        return DeadLetter(index, raw, EXHAUSTED, f"not sent in time; {note}", 0, left)
    return DeadLetter(index, raw, EXHAUSTED, f"not converted in time; {note}")


# --- The new custom event bus (event-busv2): every item's changes in order -----------------


def _fan_out_ordered(
    records: list[Any],
    rt: Runtime,
    publisher: OrderedPublisher,
    deadline: Deadline,
    counts: metrics.Counts,
    reports_before: int,
) -> dict[str, list]:
    """As _fan_out, but a too-large entry is claim-checked before its group is sent.

    Its pointer then takes its place in the group; an entry that cannot be
    carried holds back the later changes of its item (ordering).
    """
    letters: list[DeadLetter] = []
    limit = rt.settings.event_size_limit
    converted = _convert_all(records, rt.settings, letters, deadline)
    items = [ordering.ordered(entry) for entry in converted]
    too_large = [item.entry for item in items if item.size >= limit]
    pointers: dict[int, ordering.Ordered] = {}
    problems: dict[int, str] = {}
    untried: list[Entry] = []  # too large, and no time to store them: reported back
    if too_large and rt.claim_check is not None:
        pointer_limit = limit - ordering.SYSTEM_METADATA_MAX_BYTES
        stored = rt.claim_check.store(too_large, pointer_limit, deadline)
        pointers = {p.record.index: ordering.ordered(p) for p in stored.pointers}
        problems = {entry.record.index: why for entry, why in stored.failed}
        untried = stored.untried
    elif too_large:
        deadline.expect_letters(len(too_large))
    sequence = [
        item if item.size < limit else pointers.get(item.index) or item.unsendable()
        for item in items
    ]
    outcome = publisher.publish(_logged_ordered(sequence), deadline)
    # An untried one stops its group like an unsendable one, but goes back to the stream.
    not_tried = {entry.record.index for entry in untried}
    letters += [
        oversize(i.entry, rt.settings, problems.get(i.index))
        for i in outcome.stopped
        if i.index not in not_tried
    ]
    counts.claim_checked = sum(1 for index in outcome.published if index in pointers)
    counts.deduplicated = outcome.deduplicated
    counts.held_back = outcome.held_back
    return _respond(records, outcome, letters, untried, rt, deadline, counts, reports_before)


def _logged_ordered(items: list[ordering.Ordered]) -> list[ordering.Ordered]:
    """At DEBUG only, log each entry with its group (they carry item data)."""
    if logger.isEnabledFor(logging.DEBUG):
        for item in items:
            logger.debug("PutEvents entry (group %s): %s", item.group, item.entry.detail)
    return items


# --- end of the new custom event bus ---------------------------------------------------------


def _capped(
    entries: Iterator[Entry], rt: Runtime, too_large: list[Entry], deadline: Deadline
) -> Iterator[Entry]:
    """Entries under MAX_EVENT_SIZE; larger ones go to too_large (batching caps requests)."""
    limit = rt.settings.event_size_limit
    for entry in entries:
        if entry.size >= limit:
            too_large.append(entry)
            if rt.claim_check is None:
                deadline.expect_letters(1)
        else:
            yield entry


def _claim_check(
    too_large: list[Entry],
    rt: Runtime,
    deadline: Deadline,
    outcome: Outcome,
    problems: dict[int, str],
    counts: metrics.Counts,
) -> tuple[list[Entry], list[Entry]]:
    """Store the too-large entries in S3 and publish their pointers.

    Returns the entries for the DLQ (claim-check cannot carry them) and those
    never tried for lack of time (reported back, like unsent entries).
    """
    assert rt.claim_check is not None and isinstance(rt.publisher, Publisher)
    stored = rt.claim_check.store(too_large, rt.settings.event_size_limit, deadline)
    left = [entry for entry, _ in stored.failed]
    problems.update({entry.record.index: why for entry, why in stored.failed})
    if stored.pointers:
        requests = batching.iter_requests(stored.pointers, left, rt.settings.max_event_bytes)
        pointers = rt.publisher.publish(_logged(requests, rt.settings.event_bus_name), deadline)
        counts.claim_checked = len(pointers.published)
        outcome.merge(pointers)
    return sorted(left, key=lambda entry: entry.record.index), stored.untried


def _records_of(event: Any) -> tuple[list[Any], str | None]:
    """The batch's records, or why the event is not a stream batch at all."""
    if event is None:
        return [], None
    if not isinstance(event, Mapping):
        return [], f"event is a {type(event).__name__}, not an object with Records"
    records = event.get("Records")
    if records is None:
        return [], None
    if not isinstance(records, list | tuple):
        return [], f"Records is a {type(records).__name__}, not a list"
    return list(records), None


def _bad_event(
    event: Any, problem: str, rt: Runtime, deadline: Deadline, counts: metrics.Counts
) -> dict[str, list]:
    """Park an event that is not a stream batch; if that fails, have Lambda retry it."""
    logger.error("not a DynamoDB stream batch: %s", problem)
    parked = _park([DeadLetter(0, event, MALFORMED, problem)], rt.dead_letters, deadline, counts)
    if parked:
        return {"batchItemFailures": []}
    counts.reported = 1
    return {"batchItemFailures": [{"itemIdentifier": ""}]}


def oversize(
    entry: Entry, settings: Settings, claim_check_problem: str | None = None
) -> DeadLetter:
    """The one place an entry too large to publish (even by claim-check) is parked."""
    if settings.event_size_limit < settings.max_event_bytes:
        limit = f"events must stay under {settings.event_size_limit} bytes (MAX_EVENT_SIZE)"
    else:
        limit = f"a request must stay under {settings.max_event_bytes} bytes (MAX_EVENT_BYTES)"
    message = f"event is {entry.size} bytes by the PutEvents formula; {limit}"
    if claim_check_problem:
        message += f"; claim-check: {claim_check_problem}"
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
    """Send the dead letters, in record order; the indices of the records now parked."""
    if not letters:
        return set()
    sent = queue.send(letters, deadline)
    counts.dead_lettered.update(letter.reason for letter in sent.parked)
    counts.dead_letter_calls = sent.calls
    counts.not_parked = len(sent.unparked)
    for letter, error in sent.unparked[:10]:
        logger.error(
            "could not park record %d (%s) in the DLQ: %s", letter.index, letter.reason, error
        )
    if len(sent.unparked) > 10:
        logger.error("%d more records not parked", len(sent.unparked) - 10)
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
    if isinstance(name, str) and name:
        return name
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")


# Conversion checks the clock every this many records: often enough to stop
# within a few ms of the last useful moment, rarely enough to cost nothing.
CHECK_EVERY = 16


def _convert_all(
    records: list[Any], settings: Settings, malformed: list[DeadLetter], deadline: Deadline
) -> Iterator[Entry]:
    """Entries for the good records, lazily; dead letters for the malformed ones.

    Stops once no further call could be made: records not converted are
    reported back, and converting them would only make the handler late.
    """
    for index, raw in enumerate(records):
        if index % CHECK_EVERY == 0 and deadline.call_limit_ms() < CALL_MIN_MS:
            return
        try:
            yield convert(decode(index, raw), settings)
        except MalformedRecord as exc:
            malformed.append(DeadLetter(index, raw, MALFORMED, str(exc)))
            deadline.expect_letters(1)
        except Exception as exc:  # e.g. nesting too deep: park the record, keep the batch
            message = f"cannot convert the record: {type(exc).__name__}: {exc}"
            malformed.append(DeadLetter(index, raw, MALFORMED, message[:1000]))
            deadline.expect_letters(1)


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_LAMBDA_RUNTIME_API" in os.environ:
    # In Lambda: fail at init with a clear message if the configuration is bad.
    runtime()
