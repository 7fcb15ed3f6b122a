"""One error policy for every AWS call the fan-out makes: PutEvents, SQS and S3.

``classify`` turns an exception into an ``AwsError``: its code, whether another
attempt could succeed, whether it is throttling (back-pressure, slow down), and
whether the call's outcome is unknown (the request may have been carried out:
a read timeout, a dropped connection, an answer that cannot be parsed).
``attempts`` is the one retry schedule for single calls: full-jitter
exponential backoff, each attempt started only while the deadline leaves room
for it. The publisher's retries follow the same backoff (``backoff_s``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError, ConnectionError, ParamValidationError

from fanout.deadline import CALL_MIN_MS, Deadline

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",  # S3
        "RequestThrottled",  # SQS
    }
)
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "InternalException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "MissingResult",  # an entry without a result: its outcome is unknown
        # eventbridgev2, HTTP 409: "an event bus that is still being created cannot accept events"
        "InvalidStateException",
    }
)

BASE_DELAY_S = 0.1
MAX_DELAY_S = 2.0


@dataclass(frozen=True, slots=True)
class AwsError:
    """What a failed call (or entry) says about the next attempt."""

    code: str
    message: str
    retryable: bool
    throttled: bool = False
    unknown: bool = False  # the request may have been carried out


def is_throttle(code: str) -> bool:
    """Throttling: slow down and retry while time allows; never a reason to park."""
    return code in THROTTLING_CODES or code.endswith(("Throttling", "ThrottlingException"))


def is_retryable(code: str) -> bool:
    """Throttling, service-side and timeout errors are worth another attempt."""
    return code in RETRYABLE_CODES or is_throttle(code)


def entry_error(code: str, message: str) -> AwsError:
    """An error reported for one entry of a call that answered."""
    return AwsError(code, message, is_retryable(code), is_throttle(code), code == "MissingResult")


def classify(exc: BaseException) -> AwsError:
    """The policy for an exception raised by a call.

    Service errors: by code, and any 5xx or 429 is retryable. Transport
    errors: retryable; after the request may have been sent (read timeout,
    closed connection, an unparseable answer, a call cut off at its time
    limit) the outcome is unknown. A request botocore refuses to build can
    never succeed. Anything else is unexplained, so it is treated as a
    transport failure with an unknown outcome: retried, never parked.
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "ClientError"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        throttled = is_throttle(code) or status == 429
        retryable = is_retryable(code) or throttled or status >= 500
        return AwsError(code, str(error.get("Message", exc)), retryable, throttled)
    name, text = type(exc).__name__, str(exc)
    if isinstance(exc, ConnectionError):  # never connected: the request was not sent
        return AwsError(name, text, retryable=True)
    if isinstance(exc, ParamValidationError):
        return AwsError(name, " ".join(text.split()), retryable=False)
    # HTTPClientError (read timeout, closed connection), CallTimedOut, an unparseable
    # answer (ResponseParserError), and anything unexplained.
    return AwsError(name, text, retryable=True, unknown=True)


def backoff_s(retry: int, jitter: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(MAX_DELAY_S, BASE_DELAY_S * 2^(retry-1))]."""
    return jitter() * min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(0, retry - 1))


def attempts(
    deadline: Deadline,
    limit: int,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    reserve_ms: float | None = None,
) -> Iterator[float]:
    """The time limit (ms) of each attempt that may start, at most ``limit`` of them.

    Before a retry it waits the backoff; it stops when the wait and a useful
    call no longer fit before the deadline's reserve. The caller breaks out
    once an attempt succeeded or failed for good.
    """
    for attempt in range(limit):
        delay = backoff_s(attempt, jitter) if attempt else 0.0
        if not deadline.allows(delay * 1000, reserve_ms):
            return
        if delay:
            sleep(delay)
        limit_ms = deadline.call_limit_ms(reserve_ms)
        if limit_ms < CALL_MIN_MS:
            return
        yield limit_ms
