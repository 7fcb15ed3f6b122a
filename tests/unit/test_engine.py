"""The one delivery engine, where the copies it replaced lost or delayed data.

Each test is a case the classic path, the ordered path or the operations
CLI's copy got wrong: conversion that had to finish before anything was
sent, a large change at the head of a batch never tried, S3 failing for a
moment parked for good, an answer that could not be read treated as a
rejection, a call's time limit taken before the rate's wait, and a rate that
kept calling while nothing got through.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any

import boto3
import pytest

from fanout import Clients, Runtime, build_runtime, client_config, process
from fanout.rate import AdaptiveRate
from tests.support import streams
from tests.support.bus import MemoryBus
from tests.support.bus_v2 import MemoryBusV2
from tests.support.clocks import Context, RealClock, SimClock, SimContext
from tests.support.http_bus_v2 import fake_bus
from tests.support.lambda_loop import EventSourceMapping
from tests.support.runtimes import BUS, BUS_V2, memory_runtime, settings
from tests.support.s3 import MemoryS3
from tests.support.sqs import MemorySqs
from tests.support.streams import change


def quiet(records: list[dict[str, Any]], context: Any, runtime: Runtime) -> dict[str, Any]:
    with redirect_stdout(io.StringIO()):
        return process(streams.batch(*records), context, runtime)


def test_a_big_ordered_batch_with_little_time_publishes_what_it_converted_and_drains() -> None:
    # 5,472 changes with a second left: converting them all first left no time to send
    records = [change(seq, seq % 700) for seq in range(5472)]
    bus = MemoryBusV2()
    runtime = memory_runtime(settings(BUS_V2), bus, MemorySqs())
    published: list[int] = []

    def invoke(batch: list[dict[str, Any]], _: int) -> dict[str, Any]:
        before = len(bus.accepted)
        response = quiet(batch, RealClock(1000), runtime)
        published.append(len(bus.accepted) - before)
        return response

    assert EventSourceMapping(records, batch_size=len(records)).run(invoke, 40)
    assert published[0] > 0, "the first invocation published nothing"
    assert len(bus.accepted) == len(records)


def test_the_call_limit_is_taken_after_the_rates_wait() -> None:
    # the rate makes the request wait a second; the bus then stalls: the call must still
    # end before the deadline (its limit taken before the wait ran 250 ms past it)
    records = [change(seq, seq) for seq in range(30)]
    with fake_bus(["stall:10"] * 10) as (url, _):
        config = settings(BUS_V2)
        client = boto3.client(
            "eventbridgev2",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
            config=client_config(config.publish_concurrency),
        )
        sqs = MemorySqs()
        runtime = build_runtime(config, Clients(client, sqs), rate=AdaptiveRate(per_second=10))
        context = RealClock(3000)
        response = quiet(records, context, runtime)
        left = context.get_remaining_time_in_millis()
    assert left > 0, f"returned {-left} ms after the deadline"
    assert sqs.bodies == []  # a stalled bus is retryable: reported, never parked
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{0:021d}"


def test_a_large_change_at_the_head_is_claim_checked_first_even_with_little_time() -> None:
    records = [streams.insert(0, payload="p" * 5000)] + [streams.insert(i) for i in range(1, 60)]
    s3 = MemoryS3()
    bus = MemoryBus()
    config = settings(BUS, max_event_size=4096, large_event_bucket="large", publish_concurrency=1)
    runtime = memory_runtime(config, bus, MemorySqs(), s3)
    # time for a few calls only: the head must not wait behind every small one
    response = quiet(records, Context(remaining_ms=1200, per_call_ms=100), runtime)
    assert bus.published[0] == "event-0" and len(s3.objects) == 1
    assert (
        response["batchItemFailures"] == []
        or response["batchItemFailures"][0]["itemIdentifier"] != f"{0:021d}"
    )


@pytest.mark.parametrize("fault", ["SlowDown", "Timeout"])
def test_s3_failing_for_a_moment_reports_the_large_change_back_instead_of_parking_it(
    fault: str,
) -> None:
    records = [streams.insert(0), streams.insert(1, payload="p" * 5000), streams.insert(2)]
    sqs = MemorySqs()
    bus = MemoryBus()
    config = settings(BUS, max_event_size=4096, large_event_bucket="large")
    runtime = memory_runtime(config, bus, sqs, MemoryS3(3, fault))

    response = quiet(records, Context(), runtime)

    assert sqs.bodies == [], "a change S3 could store a moment later is not EventTooLarge"
    assert response["batchItemFailures"][0]["itemIdentifier"] == f"{1:021d}"
    again = quiet(records[1:], Context(), runtime)  # Lambda delivers it again: S3 is back
    assert again == {"batchItemFailures": []}
    assert "event-1" in bus.published and sqs.bodies == []


@pytest.mark.parametrize("fault", ["Unparseable", "AcceptedThenTimeout"])
def test_an_answer_that_cannot_be_read_is_retried_not_parked(fault: str) -> None:
    sqs = MemorySqs()
    bus = MemoryBus(request_faults={0: fault})
    runtime = memory_runtime(settings(BUS), bus, sqs)

    response = quiet([streams.insert(i) for i in range(3)], Context(), runtime)

    assert response == {"batchItemFailures": []}
    assert sqs.bodies == []  # its entries were on the bus: parking them would be a lie
    assert sorted(set(bus.published)) == ["event-0", "event-1", "event-2"]  # at least once


def test_persistent_throttling_finds_the_quota_in_few_calls() -> None:
    clock = SimClock(1764115200.0)
    bus = MemoryBus(per_second=0.001, clock=clock, latency_s=0.02)  # nothing gets through
    sqs = MemorySqs()
    runtime = memory_runtime(settings(BUS), bus, sqs, clock=clock)

    response = quiet([streams.insert(i) for i in range(20)], SimContext(clock, 1.5), runtime)

    assert bus.calls <= 20, f"{bus.calls} PutEvents calls in 1.5 s while nothing was accepted"
    assert sqs.bodies == [] and len(response["batchItemFailures"]) == 20
