"""Property: on either bus, through the one engine, Lambda's redelivery loop loses nothing.

Random batches (items by changes, interleaved; some records malformed, some
too large) and random fault schedules (per-entry throttling, service errors,
rejections, lost results; whole calls throttled, failing, or taking the
entries and then timing out or answering with a body that cannot be parsed;
S3 failing for a while; a DLQ that is down; a short first invocation) are
driven through Lambda's event source mapping (redelivery from the lowest
reported sequence number, no retry or age limit) until it drains:

- the loop always drains;
- 0 lost: every record is on the bus or in the DLQ;
- 0 parked retryable: the DLQ holds only what can never succeed (malformed,
  too large without claim-check, rejected), never a change that S3 or the bus
  failed only for a while;
- on the ordered bus, each group's log is in stream order, each record once,
  and a record missing from the bus is in the DLQ with no later change of its
  group on the bus before it was parked (the in-memory bus also fails the test
  if two changes of one group are ever in one request, or two requests at once).
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from contextlib import redirect_stdout
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanout import MALFORMED, REJECTED, TOO_LARGE, process
from fanout.transport import OrderedTransport
from tests.support import streams
from tests.support.bus import REQUEST_FAULTS, MemoryBus
from tests.support.bus_v2 import MemoryBusV2
from tests.support.clocks import Context
from tests.support.lambda_loop import EventSourceMapping
from tests.support.runtimes import BUS, BUS_V2, memory_runtime
from tests.support.runtimes import settings as make_settings
from tests.support.s3 import MemoryS3
from tests.support.sqs import MemorySqs
from tests.support.streams import change

MAX_ROUNDS = 80
RETRYABLE_CODES = ["ThrottlingException", "InternalException", "Lost"]
FINAL = {"classic": "ValidationException", "ordered": "InvalidInputException"}


class RoundSqs(MemorySqs):
    """The DLQ, noting in which invocation each record was parked."""

    def __init__(self, down_for_calls: int) -> None:
        super().__init__(down_for_calls)
        self.round = 0
        self.parked_in: dict[str, int] = {}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict:
        before = len(self.bodies)
        result = super().send_message_batch(QueueUrl, Entries)
        for body in self.bodies[before:]:
            self.parked_in.setdefault(body["record"].get("eventID", "?"), self.round)
        return result


def scenario(rng: random.Random, bus: str) -> dict:
    """A batch and a fault schedule from one seed (hypothesis picks seeds: one draw is fast)."""
    integer, pick = rng.randint, rng.choice
    items = integer(1, 8)
    left = [integer(1, 6) for _ in range(items)]
    order: list[int] = []
    while any(left):
        item = pick([i for i, n in enumerate(left) if n])
        left[item] -= 1
        order.append(item)
    entry_faults: dict[str, list[str | None]] = {}
    rejected: set[str] = set()
    for seq in range(len(order)):
        if integer(0, 2) == 0:
            schedule = [pick([None, *RETRYABLE_CODES]) for _ in range(integer(1, 4))]
            if integer(0, 5) == 0:  # rejected for good, on its first attempt
                schedule = [FINAL[bus]]
                rejected.add(f"event-{seq}")
            entry_faults[f"event-{seq}"] = schedule
    return {
        "bus": bus,
        "order": order,
        "big": {seq for seq in range(len(order)) if integer(0, 7) == 0},
        "malformed": {seq for seq in range(len(order)) if integer(0, 11) == 0},
        "claim_check": pick([None, (0, "SlowDown"), (2, "SlowDown"), (4, "Timeout")]),
        "entry_faults": entry_faults,
        "rejected": rejected,
        "request_faults": {integer(0, 15): pick(REQUEST_FAULTS) for _ in range(integer(0, 3))},
        "max_attempts": integer(1, 4),
        "max_event_bytes": pick([3000, 6000]),
        "dlq_down": pick([0, 0, 0, 1, 3]),
        "remaining_ms": pick([60_000, 60_000, 400]),
        "per_call_ms": pick([0, 0, 120]),
        "concurrency": pick([1, 1, 4]),
    }


def records_of(case: dict) -> list[dict[str, Any]]:
    records = []
    for seq, item in enumerate(case["order"]):
        raw = change(seq, item, payload="p" * (4000 if seq in case["big"] else 10))
        if seq in case["malformed"]:
            if seq % 2:  # decodes, names its item, but does not convert
                raw["dynamodb"]["NewImage"]["n"] = {"N": "not a number"}
            else:  # names no item at all
                raw["dynamodb"].pop("Keys")
        records.append(raw)
    return records


def run(case: dict) -> None:
    ordered = case["bus"] == "ordered"
    records = records_of(case)
    if ordered:
        bus: Any = MemoryBusV2(case["entry_faults"], dict(case["request_faults"]))
    else:
        bus = MemoryBus(case["entry_faults"], dict(case["request_faults"]))
    sqs = RoundSqs(case["dlq_down"])
    s3 = None if case["claim_check"] is None else MemoryS3(*case["claim_check"])
    config = make_settings(
        BUS_V2 if ordered else BUS,
        max_attempts=case["max_attempts"],
        publish_concurrency=case["concurrency"],
        max_event_bytes=case["max_event_bytes"],
        large_event_bucket=None if s3 is None else "large-events",
    )
    runtime = memory_runtime(config, bus, sqs, s3)

    def invoke(batch: list[dict[str, Any]], number: int) -> dict[str, Any]:
        bus.round = sqs.round = number
        short = number == 0  # one short invocation at first
        context = Context(case["remaining_ms"], case["per_call_ms"]) if short else Context()
        with redirect_stdout(io.StringIO()):
            return process(streams.batch(*batch), context, runtime)

    mapping = EventSourceMapping(records, batch_size=len(records) or 1)
    assert mapping.run(invoke, MAX_ROUNDS), f"still reporting after {MAX_ROUNDS} invocations"

    published = set(bus.dedup if ordered else bus.published)
    parked = {b["record"].get("eventID", "?"): b for b in sqs.bodies}
    ids = [r["eventID"] for r in records]
    assert published | set(parked) == set(ids), "lost records"
    for event_id, body in parked.items():
        seq = int(event_id.split("-")[1])
        if body["reason"] == MALFORMED:
            assert seq in case["malformed"], f"{event_id} parked as malformed"
        elif body["reason"] == TOO_LARGE:
            assert seq in case["big"] and s3 is None, f"{event_id} parked, S3 failed for now"
        else:
            assert body["reason"] == REJECTED and event_id in case["rejected"], body["reason"]
    if ordered:
        assert not published & set(parked), "published and parked"
        check_order(case, records, bus, sqs)


def check_order(case: dict, records: list[dict[str, Any]], bus: MemoryBusV2, sqs: RoundSqs) -> None:
    transport = OrderedTransport(None, BUS_V2, make_settings(BUS_V2).event_groups)
    accepted_in = {event_id: r for r, event_id in bus.accepted}
    assert len(accepted_in) == len(bus.accepted), "each record accepted once"
    by_group: defaultdict[str, list[str]] = defaultdict(list)
    for raw in records:
        group = transport.group_of(raw)
        if group is not None:
            by_group[group].append(raw["eventID"])
    stream_order = {raw["eventID"]: seq for seq, raw in enumerate(records)}
    for group, changes in by_group.items():
        log = bus.log[group]
        assert log == sorted(log, key=stream_order.__getitem__), f"group {group} out of order"
        for position, event_id in enumerate(changes):
            if event_id in accepted_in:
                continue
            parked = sqs.parked_in[event_id]
            later = [accepted_in[e] for e in changes[position + 1 :] if e in accepted_in]
            assert all(r > parked for r in later), f"a change after {event_id} went ahead of it"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from(["classic", "ordered"]))
def test_every_change_arrives_or_is_parked_for_good_and_in_order(seed: int, bus: str) -> None:
    run(scenario(random.Random(seed), bus))
