"""The runtime: the settings, and everything built from them once per execution environment.

``build_runtime`` takes the whole validated ``Settings`` and, optionally, the
AWS clients to use (the operations CLI and the tests bring their own); it
picks the transport and the scheduling for the bus, and keeps the shared
rate, the engine's threads, the dead-letter queue, the claim-check store and
the safety valve for every invocation that follows.

``prepare`` and ``admit`` are the first steps of the data flow for one
record: decode and convert, then make sure what goes to the bus fits
(claim-check in its place, in stream order); ``publish`` runs entries a
command built through the same steps and the same engine.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.config import Config

from fanout import limits
from fanout.batching import RequestQueue
from fanout.claim_check import ClaimCheck
from fanout.dead_letter import MALFORMED, TOO_LARGE, DeadLetter, DeadLetterQueue
from fanout.deadline import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, Deadline
from fanout.delivery import Delivery, Envelope, Outcome, Pacing, Scheduling
from fanout.ordering import GroupSequencer
from fanout.rate import AdaptiveRate
from fanout.records import Entry, MalformedRecord, convert, decode
from fanout.settings import Settings
from fanout.transport import ClassicTransport, OrderedTransport
from fanout.valve import SafetyValve

# How many envelopes the ordered bus's sequencer converts ahead of what it can send:
# enough to fill a request from distinct groups when an item's changes come in a run
# (a default batch of 100 is seen whole), little enough that a 10,000-record batch starts
# sending after a tenth of its conversion.
ORDERED_LOOKAHEAD = 10 * limits.PUT_EVENTS_V2_MAX_ENTRIES


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients the fan-out calls.

    ``bus`` is an ``events`` client, or ``eventbridgev2`` for an event-busv2
    ARN. Most invocations park nothing, so the SQS client may be given as a
    function that makes it on first use (``make_sqs``).
    """

    bus: Any
    sqs: Any = None
    s3: Any = None
    make_sqs: Callable[[], Any] | None = None


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings and what is built from them, shared by invocations."""

    settings: Settings
    transport: ClassicTransport | OrderedTransport
    delivery: Delivery
    dead_letters: DeadLetterQueue
    claim_check: ClaimCheck | None
    valve: SafetyValve

    @property
    def rate(self) -> Pacing:
        """The publishing rate every request of this environment shares."""
        return self.delivery.rate

    def prepare(self, index: int, raw: Any, deadline: Deadline) -> Envelope:
        """Decode and convert one stream record; a record that cannot be is parked in its place."""
        try:
            entry = convert(decode(index, raw), self.settings)
        except Exception as exc:  # MalformedRecord, or e.g. nesting too deep: never raised
            message = (
                str(exc)
                if isinstance(exc, MalformedRecord)
                else f"cannot convert the record: {type(exc).__name__}: {exc}"
            )
            deadline.expect_letters(1)
            letter = DeadLetter(index, raw, MALFORMED, message[:1000])
            return Envelope(index, raw, group=self.transport.group_of(raw), letter=letter)
        return self.admit(entry, deadline)

    def admit(self, entry: Entry, deadline: Deadline) -> Envelope:
        """The envelope for an entry, or for its claim-check pointer when it is too large."""
        envelope = self.transport.wrap(entry)
        limit = self.settings.event_size_limit
        if envelope.size < limit:
            return envelope
        if self.claim_check is None:
            deadline.expect_letters(1)
            return replace(envelope, letter=too_large(envelope, self.settings))
        stored = self.claim_check.store(
            entry, lambda pointer: self.transport.wrap(pointer).size < limit, deadline
        )
        if stored.pointer is not None:
            return replace(self.transport.wrap(stored.pointer), pointer=True)
        if stored.problem is not None:
            deadline.expect_letters(1)
            return replace(envelope, letter=too_large(envelope, self.settings, stored.problem))
        return replace(envelope, deferred=stored.retry)

    def publish(self, entries: Iterable[Entry], deadline: Deadline | None = None) -> Outcome:
        """Entries a command built, through the same steps and engine as the handler's."""
        deadline = deadline or Deadline.unlimited()
        return self.delivery.deliver((self.admit(e, deadline) for e in entries), deadline)


def too_large(envelope: Envelope, settings: Settings, problem: str | None = None) -> DeadLetter:
    """The one place a change too large to publish (even by claim-check) is parked."""
    if settings.event_size_limit < settings.max_event_bytes:
        limit = f"events must stay under {settings.event_size_limit} bytes (MAX_EVENT_SIZE)"
    else:
        limit = f"a request must stay under {settings.max_event_bytes} bytes (MAX_EVENT_BYTES)"
    message = f"event is {envelope.size} bytes by the PutEvents formula; {limit}"
    if problem:
        message += f"; claim-check: {problem}"
    return DeadLetter(envelope.index, envelope.raw, TOO_LARGE, message, entry=envelope.entry)


_VALIDATE = Config(parameter_validation=True)  # the DLQ path is rare: keep botocore's checks


def client_config(concurrency: int) -> Config:
    """botocore retries off (the engine retries per entry), short timeouts, a pool slot per thread.

    Parameter validation is off: entries are built and measured by records
    and transport, and botocore's walk over them costs µs per record.
    """
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        max_pool_connections=max(10, concurrency),
        parameter_validation=False,
    )


def default_clients(settings: Settings, session: Any = None) -> Clients:
    """Clients for the bus, the DLQ (on first use) and the claim-check bucket."""
    session = session or boto3.session.Session()
    config = client_config(settings.publish_concurrency)
    service = "eventbridgev2" if settings.ordered else "events"
    bus = session.client(service, region_name=settings.event_bus_region, config=config)
    _build_user_agent_once(bus)
    s3 = session.client("s3", config=config) if settings.large_event_bucket else None
    return Clients(
        bus, s3=s3, make_sqs=lambda: session.client("sqs", config=config.merge(_VALIDATE))
    )


def _build_user_agent_once(client: Any) -> None:
    """The User-Agent header once per client, not three times per request.

    botocore builds the header from sixteen parts on every request, and again
    just before sending to add usage-feature codes; for PutEvents the header
    never changes, and building it is a tenth of botocore's work per request.
    If this botocore has neither hook, nothing changes.
    """
    creator = getattr(client, "_user_agent_creator", None)
    rebuild = getattr(creator, "rebuild_and_replace_user_agent_handler", None)
    if rebuild is not None:
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.unregister(f"request-created.{service_id}", rebuild)
    to_string = getattr(creator, "to_string", None)
    if callable(to_string):
        header = to_string()
        creator.to_string = lambda: header  # type: ignore[union-attr]


def build_runtime(
    settings: Settings,
    clients: Clients | None = None,
    *,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    rate: Pacing | None = None,
) -> Runtime:
    """The runtime for these settings; the clients default to boto3's, from ``session``.

    ``sleep``, ``jitter`` and the clocks are the runtime's only sources of
    time and chance, so a test or a benchmark can run it on simulated time.
    """
    clients = clients or default_clients(settings, session)
    transport: ClassicTransport | OrderedTransport
    scheduling: Callable[[], Scheduling]
    if settings.ordered:
        transport = OrderedTransport(clients.bus, settings.event_bus_name, settings.event_groups)
        max_bytes = min(settings.max_event_bytes, limits.PUT_EVENTS_V2_MAX_BYTES)
        entries = limits.PUT_EVENTS_V2_MAX_ENTRIES

        def scheduling() -> Scheduling:
            return GroupSequencer(max_bytes, entries, ORDERED_LOOKAHEAD)

    else:
        transport = ClassicTransport(clients.bus, settings.event_bus_name)

        def scheduling() -> Scheduling:
            return RequestQueue(settings.max_event_bytes)

    delivery = Delivery(
        transport,
        scheduling,
        rate or AdaptiveRate(clock=clock, sleep=sleep),
        settings.max_attempts,
        settings.publish_concurrency,
        sleep=sleep,
        jitter=jitter,
        clock=clock,
    )
    if settings.large_event_bucket and clients.s3 is None:
        raise ValueError("LARGE_EVENT_BUCKET is set, but no S3 client was given")
    return Runtime(
        settings=settings,
        transport=transport,
        delivery=delivery,
        dead_letters=DeadLetterQueue(
            clients.sqs,
            settings.dlq_url,
            settings.dlq_max_bytes,
            settings.event_bus_name,
            sleep=sleep,
            factory=clients.make_sqs,
            jitter=jitter,
        ),
        claim_check=(
            ClaimCheck(
                clients.s3,
                settings.large_event_bucket,
                settings.large_event_prefix,
                sleep=sleep,
                jitter=jitter,
                owner=settings.large_event_bucket_owner,
            )
            if settings.large_event_bucket
            else None
        ),
        valve=SafetyValve(
            settings.maximum_record_age_s, settings.maximum_retry_attempts, clock=wall_clock
        ),
    )
