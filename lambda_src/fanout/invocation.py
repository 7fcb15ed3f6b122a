"""One invocation, in stream order: records → convert → (claim-check) → deliver → park → respond.

``process`` never raises for bad input. Conversion streams into the delivery
engine (``envelopes``), so sending starts with the first request's worth and a
batch whose conversion outlasts the time still publishes what it converted.
What the engine could not publish ends in one of two places: the dead-letter
queue, for what can never succeed (and, through the safety valve, for what
the stream would otherwise drop), or the partial-batch response, from the
first record neither published nor parked, so Lambda delivers it again.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fanout import metrics
from fanout.dead_letter import EXHAUSTED, MALFORMED, DeadLetter, DeadLetterQueue
from fanout.deadline import CALL_MIN_MS, Deadline
from fanout.delivery import Envelope, Left, Outcome
from fanout.response import batch_item_failures, reported_count
from fanout.runtime import Runtime

logger = logging.getLogger("fanout")

# Conversion checks the clock every this many records: often enough to stop
# within a few ms of the last useful moment, rarely enough to cost nothing.
CHECK_EVERY = 16


@dataclass(frozen=True, slots=True)
class Invocation:
    """What one invocation did: Lambda's response, the counts its metrics line carries."""

    response: dict[str, list]
    counts: metrics.Counts
    duration_ms: float


def process(event: Any, context: Any, rt: Runtime) -> dict[str, list]:
    """Publish every record or park it; report the rest. Never raises for bad input.

    Writes the invocation's metrics line (CloudWatch's Embedded Metric Format) to stdout,
    where Lambda ships it to the function's log group.
    """
    done = invoke(event, context, rt)
    metrics.emit(done.counts, _function_name(context), done.duration_ms)
    return done.response


def invoke(event: Any, context: Any, rt: Runtime) -> Invocation:
    """``process`` without the metrics line: the response and the counts, for a caller that
    runs the handler itself (the operations CLI's local run)."""
    started = time.perf_counter()
    # The event and the clients outlive the invocation's work: frozen, the
    # garbage collector does not scan them again and again while thousands
    # of short-lived objects are made (it nearly doubled conversion time).
    gc.freeze()
    try:
        deadline = Deadline.from_context(context)
        records, problem = _records_of(event)
        counts = metrics.Counts(records=len(records))
        if problem is not None:
            response = _bad_event(event, problem, rt, deadline, counts)
        else:
            response = _fan_out(records, rt, deadline, counts)
    finally:
        gc.unfreeze()
    return Invocation(response, counts, (time.perf_counter() - started) * 1000)


def envelopes(records: list[Any], rt: Runtime, deadline: Deadline) -> Iterator[Envelope]:
    """The batch converted lazily, in stream order, as the engine asks for it.

    Stops once no further call could be made: records not converted are
    reported back, and converting them would only make the handler late.
    """
    debug = logger.isEnabledFor(logging.DEBUG)
    for index, raw in enumerate(records):
        if index % CHECK_EVERY == 0 and deadline.call_limit_ms() < CALL_MIN_MS:
            return
        envelope = rt.prepare(index, raw, deadline)
        if debug and envelope.entry is not None:  # item data: at DEBUG only
            logger.debug("entry %d (group %s): %s", index, envelope.group, envelope.entry.detail)
        yield envelope


def _fan_out(
    records: list[Any], rt: Runtime, deadline: Deadline, counts: metrics.Counts
) -> dict[str, list]:
    reports_before = rt.valve.reports_before(records)
    if rt.valve.last_chance(reports_before):
        deadline.expect_letters(len(records))  # whatever is not published gets parked
    outcome = rt.delivery.deliver(envelopes(records, rt, deadline), deadline)
    letters = list(outcome.letters)
    left = {item.envelope.index: item for item in outcome.left}
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
    _count(outcome, counts, rt)
    counts.reported = reported_count(records, accounted)
    counts.held = sum(1 for letter in held if letter.index in accounted)
    return response


def _count(outcome: Outcome, counts: metrics.Counts, rt: Runtime) -> None:
    counts.published = len(outcome.published)
    counts.retried = outcome.retried
    counts.throttled = outcome.throttled
    counts.put_events_calls = outcome.calls
    counts.claim_checked = len(outcome.claim_checked)
    counts.deduplicated = outcome.deduplicated
    counts.held_back = outcome.held_back
    counts.publish_rate = rt.rate.per_second


def _valve(
    records: list[Any],
    published: set[int],
    letters: list[DeadLetter],
    left: dict[int, Left],
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


def _held(index: int, raw: Any, left: Left | None, why: str) -> DeadLetter:
    """A retryable record parked because reporting it again would let the stream drop it."""
    note = f"parked instead of reported back: {why}"
    if left is None:
        return DeadLetter(index, raw, EXHAUSTED, f"not converted in time; {note}")
    message = f"{left.why}; {note}" if left.attempts else f"not sent in time; {note}"
    return DeadLetter(index, raw, EXHAUSTED, message, left.attempts, left.envelope.entry)


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


def _function_name(context: Any) -> str:
    name = getattr(context, "function_name", None)
    if isinstance(name, str) and name:
        return name
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
