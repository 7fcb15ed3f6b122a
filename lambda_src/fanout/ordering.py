"""Per-item order on the new custom event bus: group ids, and what may be sent when. No I/O.

The bus delivers in order within an ``EventGroupId`` and drops a repeated
``DeduplicationId``. A DynamoDB stream already orders the changes of one
item, so each entry's group is its table and primary key and its
de-duplication id is the record's ``eventID``.

How the service orders two entries of one group inside one request, or
treats the later one when the earlier one fails, is not documented. So the
``Sequencer`` never lets a group have more than one entry in flight: one
entry per group per request, the next only once the previous is published.
An entry that is not published holds back every later entry of its group;
those are reported back to Lambda, never published ahead of it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from base64 import b64encode
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fanout import limits
from fanout.batching import Budget
from fanout.records import Entry, StreamRecord

# Table names are at most 255 characters; a hashed id keeps a readable prefix of it.
_HASHED_PREFIX_CHARS = limits.EVENT_GROUP_ID_MAX_CHARS - 2 - 64
# Escaped in names and values so that two different keys never read the same.
_ESCAPES = str.maketrans({"%": "%25", ",": "%2C", "=": "%3D"})
# The most the SystemMetadata strings add to an entry's size.
SYSTEM_METADATA_MAX_BYTES = limits.EVENT_GROUP_ID_MAX_CHARS + 4 * limits.DEDUPLICATION_ID_MAX_CHARS


def _key_text(value: Mapping[str, Any]) -> tuple[str, str]:
    """(type, text) of a key attribute: S and N as given, B as base64."""
    kind, raw = next(iter(value.items()))
    if isinstance(raw, bytes | bytearray):
        raw = b64encode(raw).decode("ascii")
    return str(kind), str(raw)


def event_group_id(record: StreamRecord) -> str:
    """A stable id of the record's table and primary key, at most 128 characters.

    ``<table>:<name>=<value>[,<name>=<value>]`` with the key names sorted, when
    that is short and printable ASCII (FIFO targets such as SQS accept it as a
    message group id); otherwise ``<table prefix>:#<sha256 of table and key>``.
    """
    keys = record.raw["dynamodb"]["Keys"]
    parts = sorted((str(name), *_key_text(value)) for name, value in keys.items())
    text = ",".join(
        f"{name.translate(_ESCAPES)}={value.translate(_ESCAPES)}" for name, _, value in parts
    )
    readable = f"{record.table_name}:{text}"
    if len(readable) <= limits.EVENT_GROUP_ID_MAX_CHARS and all("!" <= c <= "~" for c in readable):
        return readable
    canonical = json.dumps([record.table_name, parts], separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{record.table_name[:_HASHED_PREFIX_CHARS]}:#{digest}"


def deduplication_id(record: StreamRecord) -> str:
    """The record's eventID; its table and sequence number if it has no usable one."""
    event_id = record.event_id
    if 0 < len(event_id) <= limits.DEDUPLICATION_ID_MAX_CHARS and event_id.strip():
        return event_id
    return f"{record.table_name[:80]}:{record.sequence_number}"[: limits.DEDUPLICATION_ID_MAX_CHARS]


@dataclass(frozen=True, slots=True)
class Ordered:
    """An entry with its place in its group; ``sendable`` False: it cannot be published."""

    entry: Entry
    group: str
    dedup: str
    size: int  # the entry's size by the PutEvents formula, SystemMetadata counted
    sendable: bool = True

    @property
    def index(self) -> int:
        return self.entry.record.index

    def unsendable(self) -> Ordered:
        return replace(self, sendable=False)


def ordered(entry: Entry) -> Ordered:
    """The entry with its EventGroupId and DeduplicationId."""
    group = event_group_id(entry.record)
    dedup = deduplication_id(entry.record)
    size = entry.size + len(group) + len(dedup.encode("utf-8"))
    return Ordered(entry, group, dedup, size)


class Sequencer:
    """Hands out requests in which no group has more than one entry in flight.

    ``next_request`` takes the first entry of every idle group, lowest record
    first, as far as one request's budget goes; ``settle`` reports how each
    ended. Not thread-safe: one thread drives it.
    """

    def __init__(
        self,
        items: Iterable[Ordered],
        max_bytes: int = limits.PUT_EVENTS_V2_MAX_BYTES,
        max_entries: int = limits.PUT_EVENTS_V2_MAX_ENTRIES,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.held: list[Ordered] = []  # never sent: behind an entry that was not published
        self.stopped: list[Ordered] = []  # unsendable, reached at the head of their group
        self._queues: dict[str, deque[Ordered]] = {}
        self._ready: list[tuple[int, str]] = []  # (record index of the head, group)
        self._in_flight: set[str] = set()
        for item in items:
            self._queues.setdefault(item.group, deque()).append(item)
        for group in list(self._queues):
            self._advance(group)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    def next_request(self) -> list[Ordered]:
        """The next request's entries; empty if no group is idle."""
        budget = Budget(self.max_bytes, self.max_entries)
        taken: list[Ordered] = []
        while self._ready:
            group = self._ready[0][1]
            head = self._queues[group][0]
            if not budget.admits(head.size):
                if taken:
                    break
                heapq.heappop(self._ready)  # too large even alone: it can never be sent
                self._stop(group)
                continue
            heapq.heappop(self._ready)
            self._queues[group].popleft()
            self._in_flight.add(group)
            budget.add(head.size)
            taken.append(head)
        return taken

    def settle(self, item: Ordered, published: bool) -> None:
        """The entry is done: its group moves on, or holds back the rest of it."""
        self._in_flight.discard(item.group)
        if published:
            self._advance(item.group)
        else:
            self._hold(item.group)

    def hold_rest(self) -> None:
        """Nothing more will be sent: every idle group's entries are held back."""
        while self._ready:
            _, group = heapq.heappop(self._ready)
            self._hold(group)

    def _advance(self, group: str) -> None:
        queue = self._queues[group]
        if not queue:
            del self._queues[group]
        elif not queue[0].sendable:
            self._stop(group)
        else:
            heapq.heappush(self._ready, (queue[0].index, group))

    def _stop(self, group: str) -> None:
        self.stopped.append(self._queues[group].popleft())
        self._hold(group)

    def _hold(self, group: str) -> None:
        self.held += self._queues.pop(group, ())
