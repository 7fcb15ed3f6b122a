"""Send PutEvents requests concurrently; retry only the entries that failed.

PutEvents can answer HTTP 200 with some entries failed, so every entry's
ErrorCode is checked. Retryable failures (throttling, service errors,
timeouts) are retried with exponential backoff and full jitter up to
MAX_ATTEMPTS; anything else is final after one attempt. Nothing here raises
for a failed entry: each ends published, failed (for the dead-letter queue,
with the reason) or unsent (no time left to try; reported back to Lambda).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from fanout.batching import PutEventsRequest
from fanout.deadline import CALL_MIN_MS, CallTimedOut, Deadline
from fanout.records import Entry

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)

REJECTED = "PutEventsRejected"  # a non-retryable error: validation, access, malformed
EXHAUSTED = "RetriesExhausted"  # retryable errors on every attempt we could make

BASE_DELAY_S = 0.1
MAX_DELAY_S = 2.0


@dataclass(frozen=True, slots=True)
class Failure:
    """An entry that will not be published, and why."""

    entry: Entry
    reason: str
    error_code: str
    message: str
    attempts: int


@dataclass(slots=True)
class Outcome:
    """What happened to the entries of one or more requests."""

    published: list[int] = field(default_factory=list)  # record indices
    failed: list[Failure] = field(default_factory=list)
    unsent: list[Entry] = field(default_factory=list)
    calls: int = 0
    retried: int = 0  # entry sends after the first attempt

    def merge(self, other: Outcome) -> None:
        self.published += other.published
        self.failed += other.failed
        self.unsent += other.unsent
        self.calls += other.calls
        self.retried += other.retried


def is_retryable(code: str) -> bool:
    """Throttling, service-side and timeout errors are worth another attempt."""
    return code in RETRYABLE_CODES or code.endswith(("Throttling", "ThrottlingException"))


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


class Publisher:
    """PutEvents with per-entry retries, over a small pool of threads."""

    def __init__(
        self,
        client: Any,
        event_bus_name: str,
        max_attempts: int,
        concurrency: int,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.event_bus_name = event_bus_name
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.sleep = sleep
        self.jitter = jitter

    def publish(self, requests: Iterable[PutEventsRequest], deadline: Deadline) -> Outcome:
        """Send every request, up to ``concurrency`` at a time.

        Requests are taken from the iterable as threads free up, with a short
        queue, so converting the next ones overlaps sending these and only a
        few requests' entries are held in memory at once.
        """
        total = Outcome()
        if self.concurrency == 1:
            for request in requests:
                total.merge(self.send(request, deadline))
            return total
        queued: set[Future[Outcome]] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="put") as pool:
            for request in requests:
                if len(queued) >= 2 * self.concurrency:
                    done, queued = wait(queued, return_when=FIRST_COMPLETED)
                    for future in done:
                        total.merge(future.result())
                queued.add(pool.submit(self.send, request, deadline))
            for future in queued:
                total.merge(future.result())
        return total

    def backoff_s(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(retry-1))]."""
        return self.jitter() * min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (retry - 1))

    def send(self, request: PutEventsRequest, deadline: Deadline) -> Outcome:
        """One request's entries, retried until published, final, or out of time."""
        outcome = Outcome()
        pending = list(request.entries)
        errors: dict[int, tuple[str, str]] = {}
        attempt = 0
        while pending:
            if attempt == self.max_attempts:
                return self._give_up(outcome, pending, errors, attempt, "")
            if attempt:
                delay = self.backoff_s(attempt)
                if not deadline.allows(delay * 1000):
                    return self._out_of_time(outcome, pending, errors, attempt, deadline)
                self.sleep(delay)
            limit_ms = deadline.call_limit_ms()
            if limit_ms < CALL_MIN_MS:
                if attempt == 0:  # never tried: reported back, Lambda delivers it again
                    outcome.unsent = pending
                    return outcome
                return self._out_of_time(outcome, pending, errors, attempt, deadline)
            if attempt:
                outcome.retried += len(pending)
            attempt += 1
            outcome.calls += 1
            pending = self._attempt(pending, attempt, outcome, errors, deadline, limit_ms)
        return outcome

    def _attempt(
        self,
        pending: list[Entry],
        attempt: int,
        outcome: Outcome,
        errors: dict[int, tuple[str, str]],
        deadline: Deadline,
        limit_ms: float,
    ) -> list[Entry]:
        """One PutEvents call, bounded by limit_ms; returns the entries worth retrying."""
        bus = self.event_bus_name
        try:
            response = deadline.call(
                self.client.put_events, limit_ms, Entries=[e.to_api(bus) for e in pending]
            )
        except Exception as exc:  # every failure is sorted, none escapes
            code, message, retryable = classify(exc)
            if not retryable:
                outcome.failed += [Failure(e, REJECTED, code, message, attempt) for e in pending]
                return []
            for entry in pending:
                errors[entry.record.index] = (code, message)
            return pending
        results = response.get("Entries") or []
        retry: list[Entry] = []
        for position, entry in enumerate(pending):
            result = results[position] if position < len(results) else {}
            code = str(result.get("ErrorCode") or "")
            if not code and result.get("EventId"):
                outcome.published.append(entry.record.index)
                continue
            code = code or "MissingResult"
            message = result.get("ErrorMessage") or "no EventId in the PutEvents result"
            if code == "MissingResult" or is_retryable(code):
                errors[entry.record.index] = (code, message)
                retry.append(entry)
            else:
                outcome.failed.append(Failure(entry, REJECTED, code, message, attempt))
        return retry

    def _out_of_time(
        self,
        outcome: Outcome,
        pending: list[Entry],
        errors: dict[int, tuple[str, str]],
        attempts: int,
        deadline: Deadline,
    ) -> Outcome:
        note = f" (stopped with {deadline.left_ms():.0f} ms of the invocation left)"
        return self._give_up(outcome, pending, errors, attempts, note)

    @staticmethod
    def _give_up(
        outcome: Outcome,
        pending: list[Entry],
        errors: dict[int, tuple[str, str]],
        attempts: int,
        note: str,
    ) -> Outcome:
        for entry in pending:
            code, message = errors.get(entry.record.index, ("Unknown", "no error recorded"))
            outcome.failed.append(Failure(entry, EXHAUSTED, code, message + note, attempts))
        return outcome
