"""Per-item order on the new custom event bus: group ids, and what may be sent when. No I/O.

The bus delivers in order within an ``EventGroupId`` and drops a repeated
``DeduplicationId`` (within 5 minutes, per group). AWS's guide ("Ordering and
deduplicating events on a Custom Event Bus") asks for group identifiers that
are bounded and not derived from unbounded input, and limits each group's
throughput (1,500 events plus KB per second, "Amazon EventBridge quotas").
So an item's group is one of ``EVENT_GROUPS`` buckets of its table: a hash of
its primary key. A DynamoDB stream orders the changes of one item, and every
change of an item lands in the same bucket, so per-item order is kept; items
that share a bucket share its order too (head-of-line blocking).

How the service orders two entries of one group inside one request, or
treats the later one when the earlier one fails, is not documented. So the
``GroupSequencer`` never lets a group have more than one entry in flight.
An entry that is not published, and a record that cannot be (parked in its
place), hold back every later entry of its group; those are reported back to
Lambda, never published ahead of it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from fanout import limits
from fanout.batching import Budget
from fanout.delivery import Envelope
from fanout.records import StreamRecord, jsonable, table_name_of

# A table name longer than this is shortened in group ids, with a hash of the whole name.
_TABLE_CHARS = 100


def _table_part(table_name: str) -> str:
    if len(table_name) <= _TABLE_CHARS:
        return table_name
    digest = hashlib.sha256(table_name.encode("utf-8")).hexdigest()[:8]
    return f"{table_name[: _TABLE_CHARS - 9]}~{digest}"


def event_group(table_name: str, keys: Any, groups: int) -> str:
    """``<table>#<n>``: n from 0 to groups-1, the same for every change of the item.

    Any shape of ``Keys`` has a group (the hash is over its canonical JSON), so
    a record whose keys are odd still holds its place. Binary key values read
    the same from Lambda (base64) and from get_records (bytes).
    """
    canonical = json.dumps(jsonable(keys), sort_keys=True, separators=(",", ":"), default=repr)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest()
    bucket = int.from_bytes(digest[:8], "big") % groups
    return f"{_table_part(table_name)}#{bucket}"


def group_of_raw(raw: Any, groups: int) -> str | None:
    """The group of a record that could not be converted; None if it names no item."""
    if not isinstance(raw, Mapping):
        return None
    ddb = raw.get("dynamodb")
    table = table_name_of(raw.get("eventSourceARN"))
    if not isinstance(ddb, Mapping) or "Keys" not in ddb or table is None:
        return None
    return event_group(table, ddb["Keys"], groups)


def deduplication_id(record: StreamRecord) -> str:
    """The record's eventID; its table and sequence number if it has no usable one."""
    event_id = record.event_id
    if 0 < len(event_id) <= limits.DEDUPLICATION_ID_MAX_CHARS and event_id.strip():
        return event_id
    return f"{record.table_name[:80]}:{record.sequence_number}"[: limits.DEDUPLICATION_ID_MAX_CHARS]


class GroupSequencer:
    """Hands out requests in which no group has more than one entry in flight.

    ``add`` takes envelopes in stream order; ``next_request`` takes the first
    envelope of every idle group, lowest record first, as far as one request's
    budget goes; ``settle`` reports how each ended. An unsendable envelope that
    reaches the head of its group is ``reached`` (parked or reported by the
    engine) and holds its group back. Single-threaded: the engine's dispatcher
    drives it.
    """

    def __init__(self, max_bytes: int, max_entries: int, lookahead: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.lookahead = lookahead
        self.reached: list[Envelope] = []  # unsendable, at the head of their group
        self.unsent: list[Envelope] = []  # never sent: held back, or queued when sending ended
        self.held_back = 0  # of unsent: behind an entry of their group that was not published
        self._queues: dict[str, deque[Envelope]] = {}
        self._ready: list[tuple[int, str]] = []  # (record index of the head, group)
        self._in_flight: set[str] = set()
        self._holding: set[str] = set()  # groups whose later entries are all held back
        self._queued = 0

    def add(self, envelope: Envelope) -> None:
        group = envelope.group if envelope.group is not None else f"#record-{envelope.index}"
        if group in self._holding:
            self.unsent.append(envelope)
            self.held_back += 1
            return
        queue = self._queues.get(group)
        if queue is None:
            self._queues[group] = deque([envelope])
            self._queued += 1
            if group not in self._in_flight:
                self._advance(group)
        else:
            queue.append(envelope)
            self._queued += 1

    def wants_more(self) -> bool:
        """More input could fill the next request, and the look-ahead has room."""
        return len(self._ready) < self.max_entries and self._queued < self.lookahead

    def next_request(self, room: int) -> list[Envelope]:
        """The next request's envelopes; empty if no group is idle."""
        budget = Budget(self.max_bytes, min(self.max_entries, room))
        taken: list[Envelope] = []
        while self._ready and budget.admits(self._queues[self._ready[0][1]][0].size):
            _, group = heapq.heappop(self._ready)
            head = self._queues[group].popleft()
            self._queued -= 1
            self._in_flight.add(group)
            budget.add(head.size)
            taken.append(head)
        return taken

    def settle(self, envelope: Envelope, published: bool) -> None:
        """The envelope is done: its group moves on, or holds back the rest of it."""
        group = envelope.group if envelope.group is not None else f"#record-{envelope.index}"
        self._in_flight.discard(group)
        if published:
            self._advance(group)
        else:
            self._hold(group)

    def finish(self) -> None:
        """Nothing more will be sent: every queued envelope is held back."""
        for group in list(self._queues):
            self._hold(group, ending=True)
        self._ready.clear()

    def _advance(self, group: str) -> None:
        queue = self._queues[group]
        if queue and not queue[0].sendable:
            self.reached.append(queue.popleft())
            self._queued -= 1
            self._hold(group)
        elif not queue:
            del self._queues[group]
        else:
            heapq.heappush(self._ready, (queue[0].index, group))

    def _hold(self, group: str, ending: bool = False) -> None:
        self._holding.add(group)
        queue = self._queues.pop(group, ())
        self._queued -= len(queue)
        self.unsent += queue
        if not ending:
            self.held_back += len(queue)
