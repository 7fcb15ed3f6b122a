"""CPU per record on the handler's hot path, botocore's request building included.

The events client is the real botocore client, as in Lambda: parameter
handling, JSON serialisation, SigV4 signing and the user agent all run. Only
the HTTP send is replaced, by a ``before-send`` hook that answers at once
with a PutEvents response for the entries in the request, so what is
measured is the handler's CPU, not a network.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from bench import conversion_before
from fanout import Deadline, Runtime, Settings, build_runtime, process
from fanout import records as records_module
from fanout.batching import RequestQueue


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


def _best_cpu_us(work: Callable[[], None], per: int, repeat: int) -> float:
    """Least process CPU time of ``repeat`` runs, in µs per item (threads included)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / per * 1e6


def measure(event: dict[str, Any], settings: Settings, repeat: int = 7) -> dict[str, float]:
    """µs per record: one json.dumps of the record, conversion, and the whole handler."""
    records = event["Records"]
    rt = stubbed_runtime(settings)

    def dumps() -> None:
        for record in records:
            json.dumps(record)

    def conversion() -> None:
        convert_and_pack(records, rt)

    def handler() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF log line
            response = process(event, Context(), rt)
        assert response == {"batchItemFailures": []}, response

    handler()  # warm the client: endpoint resolution, first signing
    return {
        "dumps": _best_cpu_us(dumps, len(records), repeat),
        "conversion": _best_cpu_us(conversion, len(records), repeat),
        "handler": _best_cpu_us(handler, len(records), repeat),
    }


def conversion_before_after(
    event: dict[str, Any], settings: Settings, repeat: int = 7
) -> dict[str, float]:
    """µs per record of conversion with the old MODIFY path and with today's.

    Both run in this process, in turns, on the same records: the old steps
    (bench/conversion_before.py: changedAttributes by value, the old image
    converted in full) are swapped in for the "before" turns.
    """
    records = event["Records"]
    rt = stubbed_runtime(settings)

    def conversion() -> None:
        convert_and_pack(records, rt)

    today = (records_module.changed_attributes, records_module.unmarshal_old_image)
    old = (conversion_before.changed_attributes, conversion_before.unmarshal_old_image)
    ddb = records[0]["dynamodb"]
    assert old[0](ddb["OldImage"], ddb["NewImage"]) == today[0](ddb["OldImage"], ddb["NewImage"])
    before, after = float("inf"), float("inf")
    for _ in range(repeat):  # interleaved, so a busy moment of the machine hits both alike
        records_module.changed_attributes, records_module.unmarshal_old_image = old
        try:
            before = min(before, _best_cpu_us(conversion, len(records), 1))
        finally:
            records_module.changed_attributes, records_module.unmarshal_old_image = today
        after = min(after, _best_cpu_us(conversion, len(records), 1))
    dumps = _best_cpu_us(lambda: [json.dumps(r) for r in records], len(records), repeat)
    return {"before": before, "after": after, "dumps": dumps}
