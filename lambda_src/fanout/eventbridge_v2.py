"""PutEvents on the new custom event bus (eventbridgev2), in per-item order.

Each entry carries ``SystemMetadata.EventGroupId`` and ``DeduplicationId``
(see ordering). The result of every entry is read: ``SuccessCode``
PUBLISHED or DEDUPLICATED is delivered (a duplicate of an event the bus
already has); an ``ErrorCode`` is retried when it is throttling, a service
error or a timeout, and final otherwise. As in the classic publisher, every
entry ends published, failed (for the dead-letter queue, with the reason)
or unsent (reported back to Lambda), and nothing raises for a failed entry.

A retry is safe: a request that timed out but reached the bus comes back
DEDUPLICATED the second time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from fanout import limits
from fanout.deadline import CALL_MIN_MS, Deadline
from fanout.ordering import Ordered, Sequencer
from fanout.publisher import (
    BASE_DELAY_S,
    EXHAUSTED,
    MAX_DELAY_S,
    REJECTED,
    Failure,
    Outcome,
    classify,
    is_retryable,
    is_throttle,
)

DELIVERED = frozenset({"PUBLISHED", "DEDUPLICATED"})
# 409: "an event bus that is still being created cannot accept events" (service model).
RETRYABLE_V2_CODES = frozenset({"InvalidStateException"})


class Pacing(Protocol):
    """A rate shared by every thread: wait for room, slow down when throttled."""

    def acquire(self, entries: int, deadline: Deadline) -> bool: ...

    def throttled(self) -> None: ...

    def succeeded(self, entries: int) -> None: ...

    @property
    def per_second(self) -> float: ...


@dataclass(slots=True)
class OrderedOutcome(Outcome):
    """Outcome, plus what only the ordered path has."""

    deduplicated: int = 0  # delivered entries the bus already had
    held_back: int = 0  # never sent: behind an entry of their group that was not published
    stopped: list[Ordered] = field(default_factory=list)  # unsendable at their group's head


def _retryable(code: str) -> bool:
    return is_retryable(code) or code in RETRYABLE_V2_CODES


def api_entry(item: Ordered) -> dict[str, Any]:
    """The eventbridgev2 PutEventsRequestEntry."""
    entry = item.entry
    body: dict[str, Any] = {
        "Source": entry.source,
        "DetailType": entry.detail_type,
        "Detail": entry.detail,
        "Resources": list(entry.resources),
        "SystemMetadata": {"EventGroupId": item.group, "DeduplicationId": item.dedup},
    }
    if entry.time is not None:
        body["Time"] = entry.time
    return body


@dataclass(slots=True)
class _Sent:
    """One request's entries, sorted."""

    published: list[Ordered] = field(default_factory=list)
    not_published: list[Ordered] = field(default_factory=list)
    outcome: OrderedOutcome = field(default_factory=OrderedOutcome)


class OrderedPublisher:
    """PutEvents to an event-busv2 ARN, every item's changes in order, over a few threads."""

    def __init__(
        self,
        client: Any,
        event_bus_arn: str,
        max_attempts: int,
        concurrency: int,
        max_bytes: int = limits.PUT_EVENTS_V2_MAX_BYTES,
        max_entries: int = limits.PUT_EVENTS_V2_MAX_ENTRIES,
        rate: Pacing | None = None,  # None: no pacing
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.event_bus_arn = event_bus_arn
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.rate = rate
        self.sleep = sleep
        self.jitter = jitter

    def publish(self, items: Iterable[Ordered], deadline: Deadline) -> OrderedOutcome:
        """Send every sendable entry the order allows; report how each ended.

        Entries held back behind an unpublished one are in ``unsent``;
        unsendable ones that reached the head of their group in ``stopped``.
        """
        sequencer = Sequencer(items, self.max_bytes, self.max_entries)
        total = OrderedOutcome()
        if self.concurrency == 1:
            while request := sequencer.next_request():
                self._settle(sequencer, self.send(request, deadline), total)
        else:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="put-v2") as pool:
                running: set[Future[_Sent]] = set()
                while True:
                    while len(running) < self.concurrency and (request := sequencer.next_request()):
                        running.add(pool.submit(self.send, request, deadline))
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._settle(sequencer, future.result(), total)
        sequencer.hold_rest()
        total.unsent += [item.entry for item in sequencer.held]
        total.held_back = len(sequencer.held)
        total.stopped = sequencer.stopped
        return total

    @staticmethod
    def _settle(sequencer: Sequencer, sent: _Sent, total: OrderedOutcome) -> None:
        for item in sent.published:
            sequencer.settle(item, True)
        for item in sent.not_published:
            sequencer.settle(item, False)
        total.merge(sent.outcome)
        total.deduplicated += sent.outcome.deduplicated

    def backoff_s(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(retry-1))]."""
        return self.jitter() * min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (retry - 1))

    def send(self, request: list[Ordered], deadline: Deadline) -> _Sent:
        """One request's entries, retried until delivered, final, or out of time.

        As on the classic bus, throttling is back-pressure: with a deadline it
        is retried while time allows and does not count against MAX_ATTEMPTS;
        what is still retryable when attempts or time run out is reported back.
        """
        sent = _Sent()
        pending = list(request)
        errors: dict[int, tuple[str, str]] = {}
        attempt = 0
        failures = 0  # attempts that count against MAX_ATTEMPTS
        while pending:
            if failures >= self.max_attempts:
                return self._give_up(sent, pending, errors, attempt, "")
            if attempt:
                delay = self.backoff_s(max(1, failures))
                if not deadline.allows(delay * 1000):
                    return self._give_up(sent, pending, errors, attempt, _left(deadline))
                self.sleep(delay)
            limit_ms = deadline.call_limit_ms()
            paced = self.rate is None or self.rate.acquire(len(pending), deadline)
            if limit_ms < CALL_MIN_MS or not paced:
                if attempt == 0:  # never tried: reported back, Lambda delivers it again
                    sent.not_published += pending
                    sent.outcome.unsent += [item.entry for item in pending]
                    return sent
                return self._give_up(sent, pending, errors, attempt, _left(deadline))
            if attempt:
                sent.outcome.retried += len(pending)
            attempt += 1
            sent.outcome.calls += 1
            pending = self._attempt(pending, attempt, sent, errors, deadline, limit_ms)
            only_throttled = all(is_throttle(errors[item.index][0]) for item in pending)
            if pending and not (deadline.limited and only_throttled):
                failures += 1
        return sent

    def _attempt(
        self,
        pending: list[Ordered],
        attempt: int,
        sent: _Sent,
        errors: dict[int, tuple[str, str]],
        deadline: Deadline,
        limit_ms: float,
    ) -> list[Ordered]:
        """One PutEvents call, bounded by limit_ms; returns the entries worth retrying."""
        try:
            response = deadline.call(
                self.client.put_events,
                limit_ms,
                EventBusArn=self.event_bus_arn,
                Entries=[api_entry(item) for item in pending],
            )
        except Exception as exc:  # every failure is sorted, none escapes
            code, message, retryable = classify(exc)
            retryable = retryable or code in RETRYABLE_V2_CODES
            if is_throttle(code):
                sent.outcome.throttled += len(pending)
                self._throttled_if(True)
            if not retryable:
                self._reject(sent, pending, code, message, attempt)
                return []
            for item in pending:
                errors[item.index] = (code, message)
            return pending
        results = response.get("Entries") or []
        retry: list[Ordered] = []
        delivered = 0
        throttled = False
        for position, item in enumerate(pending):
            result = results[position] if position < len(results) else {}
            error = result.get("ErrorCode")
            success = result.get("SuccessCode")
            if not error and (success in DELIVERED or (success is None and result.get("EventId"))):
                sent.published.append(item)
                sent.outcome.published.append(item.index)
                sent.outcome.deduplicated += success == "DEDUPLICATED"
                delivered += 1
                continue
            error = str(error or "MissingResult")
            message = result.get("ErrorMessage") or "no SuccessCode in the PutEvents result"
            if error == "MissingResult" or _retryable(error):
                if is_throttle(error):
                    throttled = True
                    sent.outcome.throttled += 1
                errors[item.index] = (error, message)
                retry.append(item)
            else:
                self._reject(sent, [item], error, message, attempt)
        self._throttled_if(throttled)
        if delivered and self.rate is not None:
            self.rate.succeeded(delivered)
        return retry

    def _throttled_if(self, throttled: bool) -> None:
        if throttled and self.rate is not None:
            self.rate.throttled()

    @staticmethod
    def _reject(sent: _Sent, items: list[Ordered], code: str, message: str, attempt: int) -> None:
        sent.not_published += items
        sent.outcome.failed += [Failure(i.entry, REJECTED, code, message, attempt) for i in items]

    @staticmethod
    def _give_up(
        sent: _Sent,
        pending: list[Ordered],
        errors: dict[int, tuple[str, str]],
        attempts: int,
        note: str,
    ) -> _Sent:
        for item in pending:
            code, message = errors.get(item.index, ("Unknown", "no error recorded"))
            failure = Failure(item.entry, EXHAUSTED, code, message + note, attempts, retryable=True)
            sent.outcome.failed.append(failure)
        sent.not_published += pending
        return sent


def _left(deadline: Deadline) -> str:
    return f" (stopped with {deadline.left_ms():.0f} ms of the invocation left)"
