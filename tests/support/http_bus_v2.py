"""A fake eventbridgev2 endpoint on 127.0.0.1 that speaks smithy-rpc-v2-cbor over HTTP.

Requests are decoded and answers encoded with cbor2, so botocore's own CBOR
serializer and parser are what the handler's client talks to. Each request
takes the next step of ``plan`` (then "ok"):

- ``"ok"``: every entry accepted (DEDUPLICATED if its DeduplicationId was seen);
- ``"throttle"`` / ``"internal"`` / ``"invalid"``: an HTTP 429 / 500 / 400 error;
- ``"partial:<n>"``: every n-th entry of the request fails with ThrottlingException;
- ``"stall:<s>"``: no answer for s seconds (nothing accepted);
- ``"accept-stall:<s>"``: the entries are accepted, then no answer for s seconds.

The test that starts the server stops it (a context manager).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cbor2

PATH = "/service/AWSEventsV2/operation/PutEvents"
ERRORS = {
    "throttle": (429, "ThrottlingException"),
    "internal": (500, "InternalException"),
    "invalid": (400, "InvalidInputException"),
}


class FakeBus:
    """What the fake endpoint accepted, per group, and the plan it follows."""

    def __init__(self, plan: list[str] | None = None) -> None:
        self.plan = list(plan or [])
        self.log: defaultdict[str, list[str]] = defaultdict(list)  # group -> DeduplicationIds
        self.requests: list[dict[str, Any]] = []
        self.dedup: set[str] = set()
        self.lock = threading.Lock()

    def step(self) -> str:
        with self.lock:
            return self.plan.pop(0) if self.plan else "ok"

    def accept(self, entries: list[dict[str, Any]], fail_every: int = 0) -> list[dict[str, Any]]:
        results = []
        with self.lock:
            for position, entry in enumerate(entries, start=1):
                if fail_every and position % fail_every == 0:
                    throttled = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
                    results.append(throttled)
                    continue
                meta = entry["SystemMetadata"]
                if meta["DeduplicationId"] in self.dedup:
                    results.append({"EventId": "dup", "SuccessCode": "DEDUPLICATED"})
                    continue
                self.dedup.add(meta["DeduplicationId"])
                log = self.log[meta["EventGroupId"]]
                log.append(meta["DeduplicationId"])
                results.append(
                    {
                        "EventId": f"e{len(self.dedup)}",
                        "SequenceNumber": str(len(log)),
                        "SuccessCode": "PUBLISHED",
                    }
                )
        return results


def _handler(bus: FakeBus) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path != PATH or self.headers.get("smithy-protocol") != "rpc-v2-cbor":
                self._send(404, {"__type": "UnknownOperationException"})
                return
            request = cbor2.loads(body)
            with bus.lock:
                bus.requests.append(request)
            step = bus.step()
            kind, _, arg = step.partition(":")
            if kind in ERRORS:
                status, code = ERRORS[kind]
                self._send(status, {"__type": f"com.amazonaws.eventsv2#{code}", "Message": step})
                return
            if kind == "stall":
                time.sleep(float(arg))
                return
            results = bus.accept(request["Entries"], int(arg) if kind == "partial" else 0)
            if kind == "accept-stall":
                time.sleep(float(arg))
                return
            failed = sum("ErrorCode" in r for r in results)
            self._send(200, {"FailedEntryCount": failed, "Entries": results})

        def _send(self, status: int, document: dict[str, Any]) -> None:
            payload = cbor2.dumps(document)
            self.send_response(status)
            self.send_header("smithy-protocol", "rpc-v2-cbor")
            self.send_header("Content-Type", "application/cbor")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def fake_bus(plan: list[str] | None = None) -> Iterator[tuple[str, FakeBus]]:
    """(endpoint URL, bus) of a server on a free port of 127.0.0.1, stopped on exit."""
    bus = FakeBus(plan)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(bus))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-eventsv2", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bus
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
