"""Pack envelopes into the fewest PutEvents requests the limits allow. No I/O.

The classic bus keeps no order, so its requests are runs of consecutive
envelopes, each filled up to the entry count or the size budget
(``RequestQueue``): for consecutive runs, filling each request greedily is
optimal, no packing uses fewer requests. The new custom event bus packs by
the same ``Budget`` with one entry per group (``ordering.GroupSequencer``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from fanout import limits
from fanout.delivery import Envelope


@dataclass(slots=True)
class Budget:
    """Room left in one request: up to ``max_entries`` entries, their total strictly
    under ``max_bytes`` (AWS requires a request's total to be *less than* the budget)."""

    max_bytes: int = limits.PUT_EVENTS_MAX_BYTES
    max_entries: int = limits.PUT_EVENTS_MAX_ENTRIES
    entries: int = 0
    size: int = 0

    def admits(self, size: int) -> bool:
        return self.entries < self.max_entries and self.size + size < self.max_bytes

    def add(self, size: int) -> None:
        self.entries += 1
        self.size += size


class RequestQueue:
    """The classic bus's scheduling: envelopes in stream order, requests filled greedily.

    Nothing is held back (the bus keeps no order), so ``settle`` has nothing to
    do and an unsendable envelope is ``reached`` as soon as it is added.
    Single-threaded: the engine's dispatcher drives it.
    """

    def __init__(self, max_bytes: int, max_entries: int = limits.PUT_EVENTS_MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.reached: list[Envelope] = []
        self.unsent: list[Envelope] = []  # still queued when sending ended
        self.held_back = 0  # never: the classic bus orders nothing
        self._queue: deque[Envelope] = deque()
        self._queued_size = 0

    def add(self, envelope: Envelope) -> None:
        if not envelope.sendable:
            self.reached.append(envelope)
            return
        self._queue.append(envelope)
        self._queued_size += envelope.size

    def wants_more(self) -> bool:
        """The queue does not yet hold a full request."""
        return len(self._queue) < self.max_entries and self._queued_size < self.max_bytes

    def next_request(self, room: int) -> list[Envelope]:
        budget = Budget(self.max_bytes, min(self.max_entries, room))
        taken: list[Envelope] = []
        while self._queue and budget.admits(self._queue[0].size):
            envelope = self._queue.popleft()
            self._queued_size -= envelope.size
            budget.add(envelope.size)
            taken.append(envelope)
        return taken

    def settle(self, envelope: Envelope, published: bool) -> None:
        """The classic bus orders nothing: an envelope's end changes no other's."""

    def finish(self) -> None:
        """Nothing more will be sent: what is still queued was never sent."""
        self.unsent += self._queue
        self._queue.clear()
