"""Send PutEvents requests concurrently; retry what failed while the invocation allows.

PutEvents can answer HTTP 200 with some entries failed, so every entry's
ErrorCode is checked. Throttling is back-pressure: the shared ``AdaptiveRate``
slows every thread down and throttled entries are retried for as long as the
deadline allows. Other retryable failures (service errors, timeouts) are
retried with exponential backoff and full jitter, at most MAX_ATTEMPTS times;
anything else is final after one attempt. Retries go before new requests, the
earliest records first, so what is left when time runs out is the end of the
batch. Nothing here raises for a failed entry: each ends published, failed
(rejected for the dead-letter queue, or retryable and out of attempts or time)
or unsent (never tried; reported back to Lambda).

The one AWS call and the reading of its per-entry results sit in a transport
object (``PutEventsTransport``), so another bus API can plug into the same
retry and deadline loop.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from fanout import limits
from fanout.batching import PutEventsRequest
from fanout.deadline import CALL_MIN_MS, CallTimedOut, Deadline
from fanout.rate import AdaptiveRate
from fanout.records import Entry

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "InternalException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "MissingResult",
    }
)

REJECTED = "PutEventsRejected"  # a non-retryable error: validation, access, malformed
EXHAUSTED = "RetriesExhausted"  # retryable errors on every attempt we could make

BASE_DELAY_S = 0.1
MAX_DELAY_S = 2.0


def is_throttle(code: str) -> bool:
    """Throttling: slow down and retry while time allows; never a reason to park."""
    return code in THROTTLING_CODES or code.endswith(("Throttling", "ThrottlingException"))


def is_retryable(code: str) -> bool:
    """Throttling, service-side and timeout errors are worth another attempt."""
    return code in RETRYABLE_CODES or is_throttle(code)


def classify(exc: Exception) -> tuple[str, str, bool]:
    """(error code, message, retryable) for an exception from a PutEvents call."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code, error.get("Message", str(exc)), is_retryable(code) or status >= 500
    if isinstance(exc, ConnectionError | HTTPClientError | CallTimedOut):
        return type(exc).__name__, str(exc), True
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, str(exc), False
    return type(exc).__name__, str(exc), False


@dataclass(frozen=True, slots=True)
class Failure:
    """An entry that was not published, and why.

    ``retryable`` failures could still succeed later: the handler reports
    them back to the stream unless the stream would drop them.
    """

    entry: Entry
    reason: str
    error_code: str
    message: str
    attempts: int
    retryable: bool = False


@dataclass(slots=True)
class Outcome:
    """What happened to the entries of one or more requests."""

    published: list[int] = field(default_factory=list)  # record indices
    failed: list[Failure] = field(default_factory=list)
    unsent: list[Entry] = field(default_factory=list)
    calls: int = 0
    retried: int = 0  # entry sends after the first attempt
    throttled: int = 0  # entry results (or whole requests' entries) that were throttled

    def merge(self, other: Outcome) -> None:
        self.published += other.published
        self.failed += other.failed
        self.unsent += other.unsent
        self.calls += other.calls
        self.retried += other.retried
        self.throttled += other.throttled


@dataclass(frozen=True, slots=True)
class EntryResult:
    """One entry's result: published (no code), or the error code and message."""

    error_code: str | None = None
    message: str = ""


PUBLISHED = EntryResult()


class Transport(Protocol):
    """One call to the bus for a list of entries; raises for a failed request."""

    max_entries: int

    def put(
        self, entries: Sequence[Entry], deadline: Deadline, limit_ms: float
    ) -> list[EntryResult]:
        """The results in request order, one per entry."""
        ...


class PutEventsTransport:
    """EventBridge PutEvents: up to 10 entries; results in request order (API Reference)."""

    max_entries = limits.PUT_EVENTS_MAX_ENTRIES

    def __init__(self, client: Any, event_bus_name: str) -> None:
        self.client = client
        self.event_bus_name = event_bus_name

    def put(
        self, entries: Sequence[Entry], deadline: Deadline, limit_ms: float
    ) -> list[EntryResult]:
        bus = self.event_bus_name
        response = deadline.call(
            self.client.put_events, limit_ms, Entries=[e.to_api(bus) for e in entries]
        )
        results = response.get("Entries") or []
        out: list[EntryResult] = []
        for position in range(len(entries)):
            result = results[position] if position < len(results) else {}
            code = result.get("ErrorCode")
            if not code and result.get("EventId"):
                out.append(PUBLISHED)
            else:
                message = result.get("ErrorMessage") or "no EventId in the PutEvents result"
                out.append(EntryResult(code or "MissingResult", message))
        return out


@dataclass(slots=True)
class _Pending:
    """An entry on its way: how often it was sent, and its last error."""

    entry: Entry
    attempts: int = 0  # calls that carried it
    failures: int = 0  # retryable failures that count against MAX_ATTEMPTS
    code: str = ""
    message: str = ""


@dataclass(order=True, slots=True)
class _Retry:
    first_index: int
    order: int
    not_before: float = field(compare=False)
    group: list[_Pending] = field(compare=False)


class _Work:
    """The requests still to send and the retries waiting, shared by the threads."""

    def __init__(self, requests: Iterator[PutEventsRequest], clock: Callable[[], float]) -> None:
        self.requests = requests
        self.clock = clock
        self.lock = threading.Lock()
        self.retries: list[_Retry] = []  # a heap: earliest record first
        self.order = itertools.count()
        self.outcome = Outcome()
        self.exhausted = False  # no more requests
        self.stopped = False  # out of time: nothing more is sent

    def take(self) -> tuple[list[_Pending], float] | None:
        """The next group to send and how long to wait first; None when done."""
        with self.lock:
            if self.stopped:
                return None
            now = self.clock()
            if self.retries and self.retries[0].not_before <= now:
                return heapq.heappop(self.retries).group, 0.0
            if not self.exhausted:
                request = next(self.requests, None)
                if request is not None:
                    return [_Pending(entry) for entry in request.entries], 0.0
                self.exhausted = True
            if self.retries:
                retry = heapq.heappop(self.retries)
                return retry.group, max(0.0, retry.not_before - now)
            return None

    def retry(self, group: list[_Pending], delay_s: float) -> bool:
        """Queue the group again; False once stopped (the caller gives up on it)."""
        with self.lock:
            if self.stopped:
                return False
            first = group[0].entry.record.index
            heapq.heappush(
                self.retries, _Retry(first, next(self.order), self.clock() + delay_s, group)
            )
            return True

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcome.merge(outcome)

    def stop(self) -> list[_Pending]:
        """Out of time: no more sending; every waiting retry, to give up on."""
        with self.lock:
            self.stopped = True
            left = [pending for retry in self.retries for pending in retry.group]
            self.retries = []
            return left


class Publisher:
    """PutEvents with per-entry retries, over a small pool of threads and one shared rate."""

    def __init__(
        self,
        client: Any,
        event_bus_name: str,
        max_attempts: int,
        concurrency: int,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        rate: AdaptiveRate | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport: Any = transport or PutEventsTransport(client, event_bus_name)
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        # The rate waits through self.sleep, so tests that replace it replace both.
        self.rate = rate or AdaptiveRate(clock=clock, sleep=self._wait)

    def _wait(self, seconds: float) -> None:
        self.sleep(seconds)

    @property
    def client(self) -> Any:
        return self.transport.client

    @client.setter
    def client(self, value: Any) -> None:
        self.transport.client = value

    def publish(self, requests: Iterable[PutEventsRequest], deadline: Deadline) -> Outcome:
        """Send every request, up to ``concurrency`` calls at a time.

        Requests are taken from the iterable as threads free up, so converting
        the next ones overlaps sending these and only a few requests' entries
        are held in memory at once; waiting retries are taken first.
        """
        work = _Work(iter(requests), self.clock)
        first = work.take()  # nothing to send, or no time: no threads to start
        if first is None:
            return work.outcome
        threads = [
            threading.Thread(target=self._work, args=(work, deadline), name=f"put-{n}")
            for n in range(1, self.concurrency)
        ]
        for thread in threads:
            thread.start()
        self._work(work, deadline, first)
        for thread in threads:
            thread.join()
        return work.outcome

    def backoff_s(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(retry-1))]."""
        return self.jitter() * min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (retry - 1))

    def _work(
        self,
        work: _Work,
        deadline: Deadline,
        taken: tuple[list[_Pending], float] | None = None,
    ) -> None:
        """One thread's loop: take the next group, send it, until none is left or time is up."""
        taken = taken or work.take()
        while taken is not None:
            group, wait_s = taken
            if wait_s and not deadline.allows(wait_s * 1000):
                self._give_up(work, group, deadline)  # its backoff does not fit: others may
            else:
                if wait_s:
                    self.sleep(wait_s)
                if not self._send(work, group, deadline):
                    self._give_up(work, group + work.stop(), deadline)  # no call fits any more
                    return
            taken = work.take()

    def _send(self, work: _Work, group: list[_Pending], deadline: Deadline) -> bool:
        """One call for the group; False (nothing sent) if the deadline does not allow it."""
        if not self.rate.acquire(len(group), deadline):
            return False
        limit_ms = deadline.call_limit_ms()
        if limit_ms < CALL_MIN_MS:
            return False
        outcome = Outcome(calls=1)
        outcome.retried = sum(1 for pending in group if pending.attempts)
        for pending in group:
            pending.attempts += 1
        try:
            results = self.transport.put([p.entry for p in group], deadline, limit_ms)
        except Exception as exc:  # every failure is sorted, none escapes
            code, message, retryable = classify(exc)
            if not retryable:
                outcome.failed += [
                    Failure(p.entry, REJECTED, code, message, p.attempts) for p in group
                ]
                deadline.expect_letters(len(group))
                work.record(outcome)
                return True
            results = [EntryResult(code, message)] * len(group)
            self._sort(work, group, results, outcome, deadline, request_retryable=True)
            return True
        self._sort(work, group, results, outcome, deadline)
        return True

    def _sort(
        self,
        work: _Work,
        group: list[_Pending],
        results: list[EntryResult],
        outcome: Outcome,
        deadline: Deadline,
        request_retryable: bool = False,
    ) -> None:
        """Published, rejected, or back in the queue; the rate learns from the call."""
        retry: list[_Pending] = []
        throttled = 0
        for pending, result in zip(group, results, strict=True):
            code = result.error_code
            if code is None:
                outcome.published.append(pending.entry.record.index)
                continue
            pending.code, pending.message = code, result.message
            if is_throttle(code):
                throttled += 1
                if deadline.limited:  # without a deadline, throttling counts as a failure
                    retry.append(pending)
                    continue
            if not (request_retryable or is_retryable(code)):
                outcome.failed.append(
                    Failure(pending.entry, REJECTED, code, result.message, pending.attempts)
                )
                deadline.expect_letters(1)
                continue
            pending.failures += 1
            if pending.failures >= self.max_attempts:
                outcome.failed.append(self._exhausted(pending, ""))
            else:
                retry.append(pending)
        outcome.throttled = throttled
        if throttled:
            self.rate.throttled()
        self.rate.succeeded(len(outcome.published))
        work.record(outcome)
        if retry:
            failures = max(p.failures for p in retry)
            if not work.retry(retry, self.backoff_s(failures) if failures else 0.0):
                self._give_up(work, retry, deadline)

    @staticmethod
    def _exhausted(pending: _Pending, note: str) -> Failure:
        return Failure(
            pending.entry,
            EXHAUSTED,
            pending.code or "Unknown",
            (pending.message or "no error recorded") + note,
            pending.attempts,
            retryable=True,
        )

    def _give_up(self, work: _Work, group: list[_Pending], deadline: Deadline) -> None:
        """Out of time for these: tried entries fail as retryable, the others are unsent."""
        note = f" (stopped with {deadline.left_ms():.0f} ms of the invocation left)"
        outcome = Outcome()
        for pending in group:
            if pending.attempts:
                outcome.failed.append(self._exhausted(pending, note))
            else:
                outcome.unsent.append(pending.entry)
        work.record(outcome)
