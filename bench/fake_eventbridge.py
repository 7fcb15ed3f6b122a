"""A fake EventBridge endpoint on 127.0.0.1 that answers PutEvents after a fixed latency.

With a quota it enforces an account's PutEvents limit as a token bucket of
that many entries per second (one second's worth of burst): an entry that
finds no token fails with ThrottlingException in an HTTP 200 answer, and a
request that finds none at all is throttled as a whole (HTTP 400).

It runs in its own process, as AWS would, so its work does not compete with
the code being measured; all strategies reach it through real boto3 clients,
paying request signing and serialisation as they would against AWS.
``GET /stats`` returns the calls and entries it has received, and the entries accepted.

    python -m bench.fake_eventbridge LATENCY_MS [QUOTA]  # prints the port, serves until stopped
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    latency_s = 0.0
    calls = 0
    entries = 0
    accepted = 0
    quota = 0.0  # entries per second; 0: no quota
    tokens = 0.0
    updated = 0.0
    lock = threading.Lock()

    def take(self, count: int) -> int:
        """How many of count entries the quota lets through now (all without a quota)."""
        if not self.quota:
            return count
        now = time.monotonic()
        self.tokens = min(self.quota, self.tokens + (now - self.updated) * self.quota)
        self.updated = now
        granted = min(count, int(self.tokens))
        self.tokens -= granted
        return granted


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count = len(json.loads(body or b"{}").get("Entries", []))
        time.sleep(self.server.latency_s)
        with self.server.lock:
            self.server.calls += 1
            self.server.entries += count
            granted = self.server.take(count)
            self.server.accepted += granted
        if count and not granted:
            self._reply({"__type": "ThrottlingException", "message": "Rate exceeded"}, 400)
            return
        throttled = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
        results = [{"EventId": f"e{i}"} if i < granted else throttled for i in range(count)]
        self._reply({"FailedEntryCount": count - granted, "Entries": results})

    def do_GET(self) -> None:
        with self.server.lock:
            server = self.server
            self._reply(
                {"calls": server.calls, "entries": server.entries, "accepted": server.accepted}
            )

    def _reply(self, document: dict, status: int = 200) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class FakeEventBridge:
    """A running fake endpoint in a child process."""

    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> tuple[int, int]:
        """(calls, entries) received so far."""
        data = self.counts()
        return data["calls"], data["entries"]

    def counts(self) -> dict[str, int]:
        """calls, entries received and entries accepted so far."""
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as response:
            return json.load(response)


@contextmanager
def fake_eventbridge(latency_ms: float, quota: float = 0) -> Iterator[FakeEventBridge]:
    """Start the endpoint on a free loopback port; stop it by its pid on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_eventbridge", str(latency_ms), str(quota)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None  # stdout=PIPE
    try:
        port = int(process.stdout.readline())
        yield FakeEventBridge(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency_s = float(sys.argv[1]) / 1000
    server.quota = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server.tokens, server.updated = server.quota, time.monotonic()
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
