"""Runtimes over the in-memory fakes, built by the handler's own ``build_runtime``."""

from __future__ import annotations

import time
from typing import Any

from fanout import Clients, Runtime, Settings, build_runtime
from tests.support.clocks import SimClock

BUS = "fanoutBus"
BUS_V2 = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
DLQ = "https://sqs.us-east-1.amazonaws.com/123456789012/fanout-dlq"


def settings(bus: str = BUS, **overrides: Any) -> Settings:
    return Settings(event_bus_name=bus, dlq_url=DLQ, **overrides)


def memory_runtime(
    config: Settings, bus: Any, sqs: Any, s3: Any = None, clock: SimClock | None = None
) -> Runtime:
    """The real runtime over fakes, waiting on simulated time: no test sleeps for real.

    With ``clock`` the whole run (record ages included) is on that clock; without,
    only the engine's waits are simulated, and record ages are real.
    """
    engine = clock or SimClock()
    return build_runtime(
        config,
        Clients(bus, sqs, s3),
        sleep=engine.advance,
        clock=engine,
        wall_clock=clock or time.time,
    )
