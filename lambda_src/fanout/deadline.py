"""How much of the invocation is left, so retries stop before Lambda's timeout.

Whatever is still unpublished when time runs short must be parked in the
dead-letter queue or reported back; the reserve keeps the time to do that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Stop starting new work when less than this is left (a third of the
# invocation for short timeouts, never under the minimum), keeping time to
# park and report.
RESERVE_MAX_MS = 12_000.0
RESERVE_MIN_MS = 200.0
# Dead-letter sends may use the first half of the reserve; the second half
# covers one call that hangs until botocore's timeouts (connect 1 s + read
# 4 s, see handler.client_config) and the response.


class Deadline:
    """Remaining time from the Lambda context, with a reserve held back."""

    def __init__(self, remaining_ms: Callable[[], float], reserve_ms: float) -> None:
        self._remaining_ms = remaining_ms
        self.reserve_ms = reserve_ms

    @classmethod
    def from_context(cls, context: Any) -> Deadline:
        """Use context.get_remaining_time_in_millis(); no limit without one."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return cls.unlimited()
        return cls(remaining, max(RESERVE_MIN_MS, min(RESERVE_MAX_MS, remaining() / 3)))

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(lambda: float("inf"), 0.0)

    @property
    def final_reserve_ms(self) -> float:
        """What the last step (parking in the DLQ) must leave untouched."""
        return self.reserve_ms / 2

    def left_ms(self) -> float:
        return float(self._remaining_ms())

    def allows(self, wait_ms: float = 0.0, reserve_ms: float | None = None) -> bool:
        """Whether waiting wait_ms and then working still leaves the reserve."""
        keep = self.reserve_ms if reserve_ms is None else reserve_ms
        return self.left_ms() - wait_ms > keep
