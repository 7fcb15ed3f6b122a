"""What a million changes cost to fan out: this function against EventBridge Pipes.

Prices are us-east-1 list prices, each with its source; the durations and
log bytes come from the benchmark run (``make bench`` measures them), so the
table moves with the code. Both paths put the same events on the bus, so
PutEvents ($1.00 per million 64 KB chunks) is counted for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# AWS Lambda pricing (aws.amazon.com/lambda/pricing): "$0.20 per 1M requests"; arm64
# duration, first 7.5 billion GB-seconds a month: $0.0000133334 per GB-second (20% below
# x86's $0.0000166667: "AWS Lambda Functions Powered by AWS Graviton2 Processor", AWS News Blog).
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = 0.0000133334
# Amazon EventBridge pricing (aws.amazon.com/eventbridge/pricing): custom events $1.00 per
# million; "Each 64 KB chunk of a payload is billed as one event".
PUT_EVENTS_PER_EVENT = 1.00 / 1e6
CHUNK_BYTES = 64 * 1024
# The same page, Pipes: $0.40 per million requests after filtering, each 64 KB chunk of a
# payload one request.
PIPES_PER_REQUEST = 0.40 / 1e6
# Amazon CloudWatch pricing (aws.amazon.com/cloudwatch/pricing): logs ingested $0.50 per GB.
LOGS_PER_BYTE = 0.50 / 1e9
# Lambda writes START, END and REPORT lines for every invocation (about 330 bytes).
LAMBDA_LOG_BYTES = 330


@dataclass(frozen=True)
class Row:
    item_kb: int
    records_per_invocation: int
    ours: float  # $ per million changes, PutEvents included
    pipes: float
    ours_plumbing: float  # without PutEvents: Lambda requests, duration, logs
    pipes_plumbing: float


def chunks(event_bytes: int) -> int:
    return max(1, math.ceil(event_bytes / CHUNK_BYTES))


def ours_per_million(
    records: int,
    event_bytes: int,
    memory_mb: int,
    invocation_s: float,
    per_record_s: float,
    log_bytes: int,
) -> tuple[float, float]:
    """(total, plumbing) in $ per million changes, ``records`` of them per invocation.

    An invocation lasts invocation_s plus per_record_s for each record (billed per ms).
    """
    invocations = 1e6 / records
    seconds = math.ceil((invocation_s + records * per_record_s) * 1000) / 1000
    plumbing = invocations * (
        LAMBDA_PER_REQUEST
        + seconds * memory_mb / 1024 * LAMBDA_PER_GB_SECOND
        + (log_bytes + LAMBDA_LOG_BYTES) * LOGS_PER_BYTE
    )
    return plumbing + 1e6 * chunks(event_bytes) * PUT_EVENTS_PER_EVENT, plumbing


def pipes_per_million(event_bytes: int) -> tuple[float, float]:
    """(total, plumbing) in $ per million changes through a pipe to the same bus."""
    plumbing = 1e6 * chunks(event_bytes) * PIPES_PER_REQUEST
    return plumbing + 1e6 * chunks(event_bytes) * PUT_EVENTS_PER_EVENT, plumbing


def table(
    memory_mb: int,
    invocation_s: float,
    per_record_s: dict[int, float],
    log_bytes: int,
    event_bytes: dict[int, int],
    per_invocation: tuple[int, ...] = (1, 10, 100, 1000),
) -> list[Row]:
    """Rows for each item size (KB -> its event's bytes, and the time per record of it)
    and records per invocation."""
    rows = []
    for item_kb, size in event_bytes.items():
        pipes, pipes_plumbing = pipes_per_million(size)
        for records in per_invocation:
            ours, plumbing = ours_per_million(
                records, size, memory_mb, invocation_s, per_record_s[item_kb], log_bytes
            )
            rows.append(Row(item_kb, records, ours, pipes, plumbing, pipes_plumbing))
    return rows


def break_even(memory_mb: int, invocation_s: float, per_record_s: float, log_bytes: int) -> int:
    """The fewest records per invocation at which the function's plumbing costs less."""
    _, pipes = pipes_per_million(1024)
    for records in range(1, 1001):
        _, ours = ours_per_million(records, 1024, memory_mb, invocation_s, per_record_s, log_bytes)
        if ours < pipes:
            return records
    return 1001
