"""How much of the invocation is left, and a time limit on every AWS call.

Lambda stops the function at its timeout, whatever it is doing. The handler
must return before that with every record published, parked in the
dead-letter queue or reported back, so:

- every call is bounded by the time left (``Deadline.call``), not only by
  botocore's socket timeouts, which a slow endpoint can stretch;
- publishing keeps a reserve for the calls still to make after it: parking
  what failed (one call that stalls up to its limit, plus the normal ones)
  and returning the response. The reserve grows with the dead letters known
  so far (``expect_letters``), up to half of the invocation.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The clients' socket timeouts (handler.client_config): one call that stalls
# takes at most about connect + read before botocore gives up on its own.
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 4.0
CALL_MAX_MS = (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) * 1000
# A call given at least CALL_MAX_MS plus this is bounded by the socket
# timeouts alone; with less, the handler enforces the limit itself.
SELF_BOUND_MARGIN_MS = 1000.0
# A call with less time than this is not started: it could not finish.
CALL_MIN_MS = 25.0
# Kept after the last call for the response, the log line and Lambda's own work.
RESPONSE_MS = 100.0
# The reserve kept from publishing for parking: the worst case of the calls
# still to make (one dead-letter call stalling to its limit, then a second
# attempt), but never more than a third of the invocation, so short timeouts
# still publish.
RESERVE_MIN_MS = 150.0
RESERVE_MAX_MS = 2 * CALL_MAX_MS + RESPONSE_MS
# Added to the reserve per SendMessageBatch still to make (10 letters each).
PARK_CALL_MS = 40.0


class CallTimedOut(Exception):
    """A call did not answer within the time it was given; its outcome is unknown."""

    def __init__(self, limit_ms: float) -> None:
        super().__init__(f"no answer within {limit_ms:.0f} ms (the time left in the invocation)")
        self.limit_ms = limit_ms


def _remaining_function(context: Any) -> Callable[[], Any] | None:
    method = getattr(context, "get_remaining_time_in_millis", None)
    return method if callable(method) else None


def _as_ms(value: Any) -> float:
    """A remaining-time reading; anything unusable means no limit."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return math.inf
    return float(value)


class Deadline:
    """Remaining time from the Lambda context, with a reserve held back for parking."""

    def __init__(
        self, remaining_ms: Callable[[], Any], reserve_ms: float, limited: bool = True
    ) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_ms
        self.limited = limited
        self._letters = 0
        self.letters_cap_ms = 0.0  # how much expected letters may add to the reserve

    @property
    def reserve_ms(self) -> float:
        """Kept from publishing: the base reserve plus time to park the letters expected."""
        extra = math.ceil(self._letters / 10) * PARK_CALL_MS
        return self._reserve_ms + min(self.letters_cap_ms, extra)

    @reserve_ms.setter
    def reserve_ms(self, value: float) -> None:
        self._reserve_ms = value

    def expect_letters(self, count: int) -> None:
        """``count`` more records will need parking: keep time for them."""
        self._letters += count

    @classmethod
    def from_context(cls, context: Any) -> Deadline:
        """Use context.get_remaining_time_in_millis(); no limit if it is unusable."""
        remaining = _remaining_function(context)
        if remaining is None:
            return cls.unlimited()
        deadline = cls(remaining, 0.0)
        left = deadline.left_ms()
        if math.isinf(left):
            return cls.unlimited()
        deadline.reserve_ms = max(RESERVE_MIN_MS, min(RESERVE_MAX_MS, left / 3))
        deadline.letters_cap_ms = max(0.0, left / 2 - deadline.reserve_ms)
        return deadline

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(lambda: math.inf, 0.0, limited=False)

    def left_ms(self) -> float:
        try:
            return _as_ms(self._remaining_ms())
        except Exception:  # a broken context must not break the batch
            return math.inf

    def allows(self, wait_ms: float = 0.0, reserve_ms: float | None = None) -> bool:
        """Whether waiting wait_ms and then a useful call still leave the reserve."""
        keep = self.reserve_ms if reserve_ms is None else reserve_ms
        return self.left_ms() - wait_ms - keep >= CALL_MIN_MS

    def call_limit_ms(self, reserve_ms: float | None = None) -> float:
        """How long the next call may take: the time left less the reserve."""
        if not self.limited:
            return math.inf
        keep = self.reserve_ms if reserve_ms is None else reserve_ms
        return self.left_ms() - keep

    @property
    def park_reserve_ms(self) -> float:
        """What parking must leave: time for the response."""
        return min(RESPONSE_MS, self.reserve_ms)

    def call(self, function: Callable[..., T], limit_ms: float, **kwargs: Any) -> T:
        """function(**kwargs), or CallTimedOut once limit_ms has passed.

        When the clients' own timeouts (connect + read) end a stalled call
        well within the limit, the call runs here: that is most of any
        invocation, and costs nothing extra. Closer to the deadline it runs
        in a daemon thread that is abandoned if it does not answer in time:
        the thread ends by itself within those timeouts, and its late result
        is ignored (the records are then parked or reported, never lost).
        """
        if limit_ms >= CALL_MAX_MS + SELF_BOUND_MARGIN_MS:
            return function(**kwargs)
        result: list[Any] = []

        def run() -> None:
            try:
                result.append((True, function(**kwargs)))
            except BaseException as exc:  # handed to the caller below
                result.append((False, exc))

        worker = threading.Thread(target=run, name="aws-call", daemon=True)
        worker.start()
        worker.join(max(0.0, limit_ms) / 1000)
        if not result:
            raise CallTimedOut(limit_ms)
        ok, value = result[0]
        if ok:
            return value
        raise value
