"""Pack entries into the fewest PutEvents requests the limits allow. No I/O.

Entries keep record order, and each request is a run of consecutive entries
filled up to 10 entries or the size budget. For consecutive runs, filling
each request greedily is optimal: no packing uses fewer requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fanout import limits
from fanout.records import Entry


@dataclass(slots=True)
class PutEventsRequest:
    """Consecutive entries that fit one PutEvents call together."""

    entries: list[Entry] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """The requests to send, and the entries too large to send at all."""

    requests: list[PutEventsRequest]
    too_large: list[Entry]


def iter_requests(
    entries: Iterable[Entry],
    too_large: list[Entry],
    max_bytes: int = limits.PUT_EVENTS_MAX_BYTES,
    max_entries: int = limits.PUT_EVENTS_MAX_ENTRIES,
) -> Iterator[PutEventsRequest]:
    """Yield requests as they fill, so a large batch is sent while it is converted.

    AWS requires a request's total to be *less than* the budget, so a
    request stays strictly under it; an entry that reaches it on its own is
    appended to ``too_large`` instead.
    """
    current = PutEventsRequest()
    for entry in entries:
        if entry.size >= max_bytes:
            too_large.append(entry)
            continue
        if len(current.entries) == max_entries or current.size + entry.size >= max_bytes:
            yield current
            current = PutEventsRequest()
        current.entries.append(entry)
        current.size += entry.size
    if current.entries:
        yield current


def pack(
    entries: Iterable[Entry],
    max_bytes: int = limits.PUT_EVENTS_MAX_BYTES,
    max_entries: int = limits.PUT_EVENTS_MAX_ENTRIES,
) -> Plan:
    """All requests at once (greedy, in order) and the entries set aside."""
    too_large: list[Entry] = []
    requests = list(iter_requests(entries, too_large, max_bytes, max_entries))
    return Plan(requests, too_large)


@dataclass(slots=True)
class Budget:
    """Room left in one request, by the rule iter_requests applies.

    For the new custom event bus (``ordering.Sequencer``), where which entries
    may share a request depends on more than their order: up to
    ``max_entries`` entries, their total strictly under ``max_bytes``.
    """

    max_bytes: int = limits.PUT_EVENTS_V2_MAX_BYTES
    max_entries: int = limits.PUT_EVENTS_V2_MAX_ENTRIES
    entries: int = 0
    size: int = 0

    def admits(self, size: int) -> bool:
        return self.entries < self.max_entries and self.size + size < self.max_bytes

    def add(self, size: int) -> None:
        self.entries += 1
        self.size += size
