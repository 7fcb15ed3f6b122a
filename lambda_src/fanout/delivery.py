"""The one delivery engine: envelopes in, in stream order; each ends published, parked or left.

Both buses and every command publish through ``Delivery.deliver``. What
differs between the buses is two pluggable parts: the *transport* (one call
to the bus API and the reading of its per-entry results: classic PutEvents,
or eventbridgev2 PutEvents with event groups) and the *scheduling* (which
envelopes may go into the next request: a plain queue on the classic bus, a
per-group sequencer on the ordered one). The loop around them is one:

- envelopes are pulled from the source (conversion, claim-check) only when a
  request needs them, so converting overlaps sending and a batch whose
  conversion outlasts the time still publishes what it converted;
- a dispatcher (the calling thread) hands requests to a small pool of
  threads kept for the execution environment; each call first waits for the
  shared rate, *then* takes its time limit from the deadline;
- every entry's result is read: published (or de-duplicated), rejected for
  good (parked with the reason), or retryable: throttled entries again as
  the shared rate allows, for as long as time allows; other errors after a
  full-jitter backoff, up to MAX_ATTEMPTS.
  An unknown outcome (a timeout after sending, an answer that cannot be
  parsed) is retryable: safe on the ordered bus by de-duplication,
  at-least-once on the classic bus;
- retries go before new requests, earliest records first, so what is left
  when time runs out is the end of the batch.

Nothing here raises for an entry. ``Outcome`` lists what was published, the
dead letters to park, and what is left: tried and still retryable, or never
sent; the caller reports those back to Lambda.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from fanout.aws_errors import AwsError, backoff_s, classify
from fanout.dead_letter import REJECTED, DeadLetter
from fanout.deadline import CALL_MIN_MS, Deadline
from fanout.records import Entry

PUBLISHED = "PUBLISHED"
DEDUPLICATED = "DEDUPLICATED"  # the ordered bus already had it: delivered
Result = AwsError | str  # PUBLISHED, DEDUPLICATED, or why not


@dataclass(slots=True)
class Envelope:
    """One record on its way to the bus, in stream order.

    ``letter`` set: it can never be published and is parked in its place;
    ``deferred`` set: it cannot be published now (reported back). Either way it
    holds back the later changes of its group on the ordered bus.
    """

    index: int  # position in the batch (or in a command's run)
    raw: Any  # the stream record
    entry: Entry | None = None
    size: int = 0  # by the PutEvents formula, SystemMetadata included
    group: str | None = None  # EventGroupId on the ordered bus
    dedup: str | None = None  # DeduplicationId on the ordered bus
    letter: DeadLetter | None = None
    deferred: str | None = None
    pointer: bool = False  # a claim-check pointer standing in for the full event

    @property
    def sendable(self) -> bool:
        return self.letter is None and self.deferred is None


@dataclass(frozen=True, slots=True)
class Left:
    """A record neither published nor parked: reported back to Lambda."""

    envelope: Envelope
    attempts: int  # calls that carried it (0: never sent)
    why: str  # the last error, or why it was not sent


@dataclass(slots=True)
class Outcome:
    """What one delivery did with its envelopes."""

    published: list[int] = field(default_factory=list)  # envelope indices
    letters: list[DeadLetter] = field(default_factory=list)  # can never succeed: park them
    left: list[Left] = field(default_factory=list)  # retryable or unsent: report them back
    calls: int = 0
    retried: int = 0  # entry sends after the first attempt
    throttled: int = 0  # entry results throttled (each attempt counts)
    deduplicated: int = 0
    held_back: int = 0  # never sent: behind an unpublished change of their item
    claim_checked: list[int] = field(default_factory=list)  # of published: as a pointer


class Scheduling(Protocol):
    """Which envelopes may share the next request: batching.RequestQueue on the classic
    bus, ordering.GroupSequencer on the ordered one."""

    max_entries: int
    reached: list[Envelope]  # unsendable envelopes whose turn came: park or report them
    unsent: list[Envelope]  # never sent, once finished
    held_back: int

    def add(self, envelope: Envelope) -> None: ...

    def wants_more(self) -> bool: ...

    def next_request(self, room: int) -> list[Envelope]: ...

    def settle(self, envelope: Envelope, published: bool) -> None: ...

    def finish(self) -> None: ...


class Transport(Protocol):
    """One call to the bus; raises for a failed request; results in request order."""

    def put(
        self, envelopes: list[Envelope], deadline: Deadline, limit_ms: float
    ) -> list[Result]: ...


class Pacing(Protocol):
    """A rate shared by every thread: wait for room, slow down when throttled."""

    def acquire(self, entries: int, deadline: Deadline) -> bool: ...

    def room(self, deadline: Deadline, wanted: int) -> int: ...

    def throttled(self, started: float | None = None) -> None: ...

    def succeeded(self, entries: int) -> None: ...

    @property
    def per_second(self) -> float: ...


@dataclass(slots=True)
class _Pending:
    """An envelope in flight or waiting to be retried."""

    envelope: Envelope
    attempts: int = 0  # calls that carried it
    failures: int = 0  # retryable failures that count against MAX_ATTEMPTS
    throttles: int = 0  # throttled attempts (back-pressure, not failures)
    error: AwsError | None = None


@dataclass(slots=True)
class _Retry:
    first_index: int
    not_before: float
    pendings: list[_Pending]


@dataclass(slots=True)
class _Sent:
    """A worker's answer: the results, or None when the call could not start in time."""

    pendings: list[_Pending]
    results: list[Result] | None
    started: float = 0.0  # the engine's clock when the call was made


class _Pool:
    """Threads kept for the execution environment, started one at a time as calls need them.

    Starting a thread costs more than a small batch's conversion (and, on a
    busy CPU, waits for the new thread to be scheduled), so a thread is added
    only when every one started is busy; a warm environment reuses them
    (daemon threads: they never keep a process alive).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: SimpleQueue[tuple[Callable[[Any], Any], Any, SimpleQueue[Any]]] = SimpleQueue()
        self._threads = 0
        self._busy = 0
        self._lock = threading.Lock()

    def submit(self, task: Callable[[Any], Any], argument: Any, done: SimpleQueue[Any]) -> None:
        with self._lock:
            self._busy += 1
            start = self._busy > self._threads and self._threads < self.size
            if start:
                self._threads += 1
        if start:
            name = f"put-{self._threads}"
            threading.Thread(target=self._work, name=name, daemon=True).start()
        self._tasks.put((task, argument, done))

    def _work(self) -> None:
        while True:
            task, argument, done = self._tasks.get()
            try:
                result = task(argument)
            finally:
                with self._lock:
                    self._busy -= 1
            done.put(result)


class Delivery:
    """The retry and deadline loop, for one transport and one kind of scheduling."""

    def __init__(
        self,
        transport: Transport,
        scheduling: Callable[[], Scheduling],
        rate: Pacing,
        max_attempts: int,
        concurrency: int,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.scheduling = scheduling
        self.rate = rate
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        self._pool = _Pool(concurrency) if concurrency > 1 else None

    def deliver(self, source: Iterable[Envelope], deadline: Deadline) -> Outcome:
        """Send every sendable envelope the scheduling allows; say how each ended."""
        return _Run(self, iter(source), deadline).run()

    def call(self, pendings: list[_Pending], deadline: Deadline) -> _Sent:
        """One PutEvents call, started only if the rate and the deadline allow it."""
        started = self.clock()
        try:
            if not self.rate.acquire(len(pendings), deadline):
                return _Sent(pendings, None)
            limit_ms = deadline.call_limit_ms()  # after pacing: the wait is spent
            if limit_ms < CALL_MIN_MS:
                return _Sent(pendings, None)
            started = self.clock()
            envelopes = [p.envelope for p in pendings]
            results = self.transport.put(envelopes, deadline, limit_ms)
        except Exception as exc:  # every failure is sorted, none escapes
            results = [classify(exc)] * len(pendings)
        return _Sent(pendings, results, started)


class _Run:
    """One ``deliver`` call: the dispatcher's state, touched by the calling thread only."""

    def __init__(self, delivery: Delivery, source: Iterator[Envelope], deadline: Deadline) -> None:
        self.delivery = delivery
        self.source = source
        self.deadline = deadline
        self.scheduling = delivery.scheduling()
        self.outcome = Outcome()
        self.retries: list[_Retry] = []
        self.in_flight = 0
        self.done: SimpleQueue[_Sent] = SimpleQueue()
        self.source_done = False
        self.stopped = False  # out of time: nothing more is sent

    def run(self) -> Outcome:
        while True:
            if not self.stopped:
                self._fill()
            if self.in_flight:
                self._receive()
            elif self.stopped or not self._await_retry():
                break
        self._finish()
        return self.outcome

    # --- taking work ---------------------------------------------------------------------

    def _fill(self) -> None:
        while self.in_flight < self.delivery.concurrency and not self.stopped:
            pendings = self._next()
            if not pendings:
                return
            self._send(pendings)

    def _next(self) -> list[_Pending] | None:
        """A due retry (earliest record first), else the scheduling's next request."""
        now = self.delivery.clock()
        due = [r for r in self.retries if r.not_before <= now]
        if due:
            retry = min(due, key=lambda r: r.first_index)
            self.retries.remove(retry)
            return retry.pendings
        room = self.delivery.rate.room(self.deadline, self.scheduling.max_entries)
        if room < 1:  # not even one entry could be sent in time
            self._stop()
            return None
        while True:
            self._pull()
            envelopes = self.scheduling.next_request(room)
            self._collect()
            if envelopes:
                return [_Pending(e) for e in envelopes]
            # nothing ready: with nothing in flight either, take input until something is
            idle = self.in_flight == 0 and not self.retries
            if not (idle and self._pull(force=True)):
                return None

    def _pull(self, force: bool = False) -> bool:
        """Take envelopes from the source while the scheduling wants more (``force``: at
        least one); False if none came."""
        pulled = 0
        while not self.source_done and (self.scheduling.wants_more() or (force and not pulled)):
            envelope = next(self.source, None)
            if envelope is None:
                self.source_done = True
                break
            self.scheduling.add(envelope)
            pulled += 1
        self._collect()
        return pulled > 0

    def _collect(self) -> None:
        """Unsendable envelopes whose turn came: dead letters, or left for the stream."""
        for envelope in self.scheduling.reached:
            if envelope.letter is not None:
                self.outcome.letters.append(envelope.letter)
            else:
                self.outcome.left.append(Left(envelope, 0, envelope.deferred or "not sent"))
        self.scheduling.reached.clear()

    # --- sending ---------------------------------------------------------------------------

    def _send(self, pendings: list[_Pending]) -> None:
        self.outcome.retried += sum(1 for p in pendings if p.attempts)
        for pending in pendings:
            pending.attempts += 1
        pool = self.delivery._pool
        if pool is None:
            self._settle(self.delivery.call(pendings, self.deadline))
            return
        self.in_flight += 1
        pool.submit(lambda p: self.delivery.call(p, self.deadline), pendings, self.done)

    def _receive(self) -> None:
        """Settle the next answer; wake up early for a retry that becomes due."""
        wake = min((r.not_before for r in self.retries), default=None)
        timeout = None if wake is None else max(0.0, wake - self.delivery.clock())
        try:
            sent = self.done.get(timeout=timeout)
        except Empty:
            return
        self.in_flight -= 1
        self._settle(sent)

    def _await_retry(self) -> bool:
        """Nothing in flight: wait for the earliest retry; False when there is none."""
        if not self.retries:
            return False
        retry = min(self.retries, key=lambda r: r.not_before)
        wait_s = retry.not_before - self.delivery.clock()
        if wait_s > 0:
            if not self.deadline.allows(wait_s * 1000):
                self.retries.remove(retry)  # its backoff does not fit: others may
                self._leave(retry.pendings, self._note())
                return True
            self.delivery.sleep(wait_s)
        return True

    # --- reading answers -------------------------------------------------------------------

    def _settle(self, sent: _Sent) -> None:
        if sent.results is None:  # no call fits any more
            for pending in sent.pendings:
                pending.attempts -= 1
            self._stop()
            self._leave(sent.pendings, self._note())
            return
        self.outcome.calls += 1
        retry: list[_Pending] = []
        delivered = 0
        throttled = False
        for pending, result in zip(sent.pendings, sent.results, strict=True):
            envelope = pending.envelope
            if not isinstance(result, AwsError):
                self._published(envelope, result)
                delivered += 1
                continue
            pending.error = result
            throttled |= result.throttled
            self.outcome.throttled += result.throttled
            if not result.retryable:
                self._reject(pending, result)
            elif self._retry_allowed(pending, result):
                retry.append(pending)
            else:
                self._leave([pending], "")
        rate = self.delivery.rate
        if throttled:
            rate.throttled(sent.started)
        if delivered:
            rate.succeeded(delivered)
        if retry:
            # Throttled entries go again at once: the shared rate spaces them out,
            # and retried first they keep their place ahead of later records.
            failures = max(p.failures for p in retry)
            delay = backoff_s(failures, self.delivery.jitter) if failures else 0.0
            first = retry[0].envelope.index
            self.retries.append(_Retry(first, self.delivery.clock() + delay, retry))

    def _published(self, envelope: Envelope, result: Result) -> None:
        self.outcome.published.append(envelope.index)
        self.outcome.deduplicated += result == DEDUPLICATED
        if envelope.pointer:
            self.outcome.claim_checked.append(envelope.index)
        self.scheduling.settle(envelope, True)

    def _reject(self, pending: _Pending, error: AwsError) -> None:
        envelope = pending.envelope
        message = f"{error.code}: {error.message}"
        letter = DeadLetter(
            envelope.index, envelope.raw, REJECTED, message, pending.attempts, envelope.entry
        )
        self.outcome.letters.append(letter)
        self.deadline.expect_letters(1)
        self.scheduling.settle(envelope, False)

    def _retry_allowed(self, pending: _Pending, error: AwsError) -> bool:
        """Throttling is retried while time allows (without a deadline it counts as a
        failure); other retryable errors up to MAX_ATTEMPTS; nothing once stopped."""
        if error.throttled and self.deadline.limited:
            pending.throttles += 1
        else:
            pending.failures += 1
        return not self.stopped and pending.failures < self.delivery.max_attempts

    # --- ending ----------------------------------------------------------------------------

    def _leave(self, pendings: list[_Pending], note: str) -> None:
        """Give up on these for this invocation: tried ones with their last error."""
        for pending in pendings:
            error = pending.error
            why = f"{error.code}: {error.message}{note}" if error else f"not sent{note}"
            self.outcome.left.append(Left(pending.envelope, pending.attempts, why))
            self.scheduling.settle(pending.envelope, False)

    def _stop(self) -> None:
        """Out of time: no more calls; every waiting retry is given up."""
        self.stopped = True
        note = self._note()
        for retry in self.retries:
            self._leave(retry.pendings, note)
        self.retries = []

    def _note(self) -> str:
        return f" (stopped with {self.deadline.left_ms():.0f} ms of the invocation left)"

    def _finish(self) -> None:
        self._stop()
        self.scheduling.finish()
        self._collect()
        self.outcome.left += [Left(e, 0, "not sent") for e in self.scheduling.unsent]
        self.outcome.held_back = self.scheduling.held_back
