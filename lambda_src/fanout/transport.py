"""One PutEvents call per bus API, and the reading of its per-entry results.

PutEvents can answer HTTP 200 with some entries failed, so every entry's
result is read, in request order (the API reference's promise). An entry
without a result is ``MissingResult``: retryable, its outcome unknown.

- ``ClassicTransport``: EventBridge PutEvents (``events``), entries name the bus.
- ``OrderedTransport``: the new custom event bus (``eventbridgev2``), entries
  carry ``SystemMetadata.EventGroupId`` and ``DeduplicationId``; a result is
  ``SuccessCode`` PUBLISHED or DEDUPLICATED (a duplicate the bus already has),
  or an ``ErrorCode``.

``wrap`` turns an entry into the envelope the engine schedules: its size as
this bus counts it, and on the ordered bus its group and de-duplication id.
"""

from __future__ import annotations

from typing import Any

from fanout import ordering
from fanout.aws_errors import entry_error
from fanout.deadline import Deadline
from fanout.delivery import DEDUPLICATED, PUBLISHED, Envelope, Result
from fanout.records import Entry, utf8_len

_MISSING = "MissingResult"


class ClassicTransport:
    """EventBridge PutEvents on a classic bus (name or ARN)."""

    ordered = False

    def __init__(self, client: Any, event_bus_name: str) -> None:
        self.client = client
        self.event_bus_name = event_bus_name

    def wrap(self, entry: Entry) -> Envelope:
        record = entry.record
        return Envelope(record.index, record.raw, entry, entry.size)

    def group_of(self, raw: Any) -> str | None:
        """The classic bus keeps no order: no record holds back another."""
        return None

    def put(self, envelopes: list[Envelope], deadline: Deadline, limit_ms: float) -> list[Result]:
        bus = self.event_bus_name
        entries = [e.entry.to_api(bus) for e in envelopes if e.entry is not None]
        response = deadline.call(self.client.put_events, limit_ms, Entries=entries)
        results = response.get("Entries") or []
        out: list[Result] = []
        for position in range(len(envelopes)):
            result = results[position] if position < len(results) else {}
            code = result.get("ErrorCode")
            if not code and result.get("EventId"):
                out.append(PUBLISHED)
            else:
                message = result.get("ErrorMessage") or "no EventId in the PutEvents result"
                out.append(entry_error(str(code or _MISSING), message))
        return out


class OrderedTransport:
    """eventbridgev2 PutEvents on an event-busv2 ARN, every entry in its event group."""

    ordered = True

    def __init__(self, client: Any, event_bus_arn: str, groups: int) -> None:
        self.client = client
        self.event_bus_arn = event_bus_arn
        self.groups = groups

    def wrap(self, entry: Entry) -> Envelope:
        record = entry.record
        group = ordering.event_group(record.table_name, record.raw["dynamodb"]["Keys"], self.groups)
        dedup = ordering.deduplication_id(record)
        size = entry.size + len(group) + utf8_len(dedup)
        return Envelope(record.index, record.raw, entry, size, group, dedup)

    def group_of(self, raw: Any) -> str | None:
        return ordering.group_of_raw(raw, self.groups)

    def put(self, envelopes: list[Envelope], deadline: Deadline, limit_ms: float) -> list[Result]:
        response = deadline.call(
            self.client.put_events,
            limit_ms,
            EventBusArn=self.event_bus_arn,
            Entries=[api_entry(e) for e in envelopes],
        )
        results = response.get("Entries") or []
        out: list[Result] = []
        for position in range(len(envelopes)):
            result = results[position] if position < len(results) else {}
            error = result.get("ErrorCode")
            success = result.get("SuccessCode")
            if not error and success == DEDUPLICATED:
                out.append(DEDUPLICATED)
            elif not error and (
                success == PUBLISHED or (success is None and result.get("EventId"))
            ):
                out.append(PUBLISHED)
            else:
                message = result.get("ErrorMessage") or "no SuccessCode in the PutEvents result"
                out.append(entry_error(str(error or _MISSING), message))
        return out


def api_entry(envelope: Envelope) -> dict[str, Any]:
    """The eventbridgev2 PutEventsRequestEntry."""
    entry = envelope.entry
    assert entry is not None, "only sendable envelopes are sent"
    body: dict[str, Any] = {
        "Source": entry.source,
        "DetailType": entry.detail_type,
        "Detail": entry.detail,
        "Resources": list(entry.resources),
        "SystemMetadata": {"EventGroupId": envelope.group, "DeduplicationId": envelope.dedup},
    }
    if entry.time is not None:
        body["Time"] = entry.time
    return body
