"""CPU per record on the handler's hot path, botocore's request building included.

The events client is the real botocore client, as in Lambda: parameter
handling, JSON serialisation, SigV4 signing and the user agent all run. Only
the HTTP send is replaced, by a ``before-send`` hook that answers at once
with a PutEvents response for the entries in the request, so what is
measured is the handler's CPU, not a network.

Every figure is a median over rounds in which the compared runs take turns
(so a busy moment of the machine hits all of them alike), with the spread
(least and most) beside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from bench import conversion_before
from fanout import Deadline, Runtime, Settings, build_runtime, process
from fanout import attribute_values as values_module
from fanout import records as records_module
from fanout.batching import RequestQueue


@dataclass(frozen=True)
class Spread:
    """A median over rounds, and the least and most of them."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: list[float]) -> Spread:
        return cls(statistics.median(samples), min(samples), max(samples))

    def text(self, unit: str = "", digits: int = 1) -> str:
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}-{self.high:.{digits}f})"


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.getvalue()


def _answer(request: Any, **_: Any) -> AWSResponse:
    """A PutEvents response with one EventId per entry of the request."""
    count = request.body.count(b'"Source":')
    body = json.dumps(
        {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(count)]}
    ).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "Content-Length": str(len(body))}
    return AWSResponse(request.url, 200, headers, _Body(body))


def stubbed_runtime(settings: Settings) -> Runtime:
    """The handler's runtime as build_runtime makes it, its HTTP send answered in-process."""
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )
    rt = build_runtime(settings, session=session)
    rt.transport.client.meta.events.register("before-send.events.PutEvents", _answer)
    return rt


def convert_and_pack(records: list[dict[str, Any]], rt: Runtime) -> int:
    """Decode, convert, size and pack every record as the handler does; the requests."""
    queue = RequestQueue(rt.settings.max_event_bytes)
    deadline = Deadline.unlimited()
    requests = 0
    for index, raw in enumerate(records):
        queue.add(rt.prepare(index, raw, deadline))
        if not queue.wants_more():
            requests += bool(queue.next_request(queue.max_entries))
    while queue.next_request(queue.max_entries):
        requests += 1
    return requests


class Context:
    """A Lambda context with 15 minutes left: the handler runs as it does in Lambda."""

    function_name = "bench"

    def __init__(self) -> None:
        self._deadline = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def cpu_us(work: Callable[[], object], per: int) -> float:
    """Process CPU time of one run, in µs per item (threads included)."""
    started = time.process_time()
    work()
    return (time.process_time() - started) / per * 1e6


def _dumps(records: list[dict[str, Any]]) -> Callable[[], None]:
    def run() -> None:
        for record in records:
            json.dumps(record)

    return run


def _handler(event: dict[str, Any], rt: Runtime) -> Callable[[], None]:
    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF log line
            response = process(event, Context(), rt)
        assert response == {"batchItemFailures": []}, response

    return run


def measure(event: dict[str, Any], settings: Settings, rounds: int = 7) -> dict[str, Spread]:
    """µs per record: one json.dumps of the record, conversion, the whole handler (as
    configured, and with one request at a time: no pool threads); and the ratios to
    json.dumps, each round's own."""
    records = event["Records"]
    rt = stubbed_runtime(settings)
    serial_rt = stubbed_runtime(dataclasses.replace(settings, publish_concurrency=1))
    dumps, handler = _dumps(records), _handler(event, rt)
    serial = _handler(event, serial_rt)
    for warm in (handler, serial):  # endpoint resolution, first signing, threads, the rate
        warm()
    names = ("dumps", "conversion", "handler", "serial")
    samples: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(rounds):
        samples["dumps"].append(cpu_us(dumps, len(records)))
        samples["conversion"].append(cpu_us(lambda: convert_and_pack(records, rt), len(records)))
        samples["handler"].append(cpu_us(handler, len(records)))
        samples["serial"].append(cpu_us(serial, len(records)))
    out = {name: Spread.of(values) for name, values in samples.items()}
    for name in ("conversion", "handler", "serial"):
        ratios = [a / d for a, d in zip(samples[name], samples["dumps"], strict=True)]
        out[f"{name}_ratio"] = Spread.of(ratios)
    return out


def conversion_before_after(
    event: dict[str, Any], settings: Settings, rounds: int = 7
) -> dict[str, Spread]:
    """µs per record of conversion with the old MODIFY path and with today's.

    Both run in this process, in turns, on the same records: the old steps
    (bench/conversion_before.py: changedAttributes by value, the old image
    converted in full) are swapped in for the "before" turns.
    """
    records = event["Records"]
    rt = stubbed_runtime(settings)
    today = (records_module.changed_attributes, records_module.unmarshal_old_image)
    old = (conversion_before.changed_attributes, conversion_before.unmarshal_old_image)
    ddb = records[0]["dynamodb"]
    assert old[0](ddb["OldImage"], ddb["NewImage"]) == today[0](ddb["OldImage"], ddb["NewImage"])
    before, after, dumps, gain = [], [], [], []
    for _ in range(rounds):
        records_module.changed_attributes, records_module.unmarshal_old_image = old
        try:
            before.append(cpu_us(lambda: convert_and_pack(records, rt), len(records)))
        finally:
            records_module.changed_attributes, records_module.unmarshal_old_image = today
        after.append(cpu_us(lambda: convert_and_pack(records, rt), len(records)))
        dumps.append(cpu_us(_dumps(records), len(records)))
        gain.append(1 - after[-1] / before[-1])
    return {
        "before": Spread.of(before),
        "after": Spread.of(after),
        "dumps": Spread.of(dumps),
        "faster": Spread.of(gain),
    }


def orjson_to_json(value: Any) -> str:
    """to_json with orjson doing the encoding (measurement only: not in the handler)."""
    import orjson  # noqa: PLC0415 - a bench-only dependency

    text: str = orjson.dumps(value).decode()
    if values_module._EXACT_OPEN not in text:
        return text
    first, *rest = text.split(values_module._EXACT_OPEN)
    parts = [first]
    for piece in rest:
        digits, _, after = piece.partition(values_module._EXACT_CLOSE)
        parts += (digits, after)
    return "".join(parts)


def with_orjson(event: dict[str, Any], settings: Settings, rounds: int = 7) -> dict[str, Spread]:
    """Conversion and the whole handler with the detail encoded by orjson, in turns with json."""
    records = event["Records"]
    rt = stubbed_runtime(settings)
    handler = _handler(event, rt)
    handler()
    stdlib = records_module.to_json
    samples: dict[str, list[float]] = {
        k: [] for k in ("conversion", "conversion_orjson", "handler", "handler_orjson")
    }
    for _ in range(rounds):
        for suffix, encoder in (("", stdlib), ("_orjson", orjson_to_json)):
            records_module.to_json = encoder
            try:
                samples["conversion" + suffix].append(
                    cpu_us(lambda: convert_and_pack(records, rt), len(records))
                )
                samples["handler" + suffix].append(cpu_us(handler, len(records)))
            finally:
                records_module.to_json = stdlib
    out = {name: Spread.of(values) for name, values in samples.items()}
    for name in ("conversion", "handler"):
        gain = [1 - o / j for o, j in zip(samples[name + "_orjson"], samples[name], strict=True)]
        out[name + "_gain"] = Spread.of(gain)
    return out


def serialisation(event: dict[str, Any], settings: Settings, rounds: int = 7) -> dict[str, Spread]:
    """What botocore's serialiser costs per request of 10 entries, against one json.dumps of
    the same body (the most a hand-built body could save), and the whole handler per request."""
    rt = stubbed_runtime(settings)
    client = rt.transport.client
    operation = client.meta.service_model.operation_model("PutEvents")
    serialize = client._serializer.serialize_to_request
    entries = [
        e.entry.to_api(settings.event_bus_name)
        for e in (rt.prepare(i, r, Deadline.unlimited()) for i, r in enumerate(event["Records"]))
        if e.entry is not None
    ]
    requests = [entries[i : i + 10] for i in range(0, len(entries), 10)]
    plain = [
        [{**x, "Time": int(x["Time"].timestamp())} if "Time" in x else x for x in request]
        for request in requests
    ]
    handler = _handler(event, rt)
    handler()
    botocore_us, dumps_us, handler_us = [], [], []
    for _ in range(rounds):
        botocore_us.append(
            cpu_us(
                lambda: [serialize({"Entries": r}, operation) for r in requests],
                len(requests),
            )
        )
        dumps_us.append(cpu_us(lambda: [json.dumps({"Entries": r}) for r in plain], len(requests)))
        handler_us.append(cpu_us(handler, len(requests)))
    saved = [(b - d) / h for b, d, h in zip(botocore_us, dumps_us, handler_us, strict=True)]
    return {
        "botocore": Spread.of(botocore_us),
        "dumps": Spread.of(dumps_us),
        "handler": Spread.of(handler_us),
        "saved": Spread.of(saved),
    }
