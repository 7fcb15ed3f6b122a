"""A fake EventBridge endpoint on 127.0.0.1 that answers PutEvents after a fixed latency.

It runs in its own process, as AWS would, so its work does not compete with
the code being measured; all strategies reach it through real boto3 clients,
paying request signing and serialisation as they would against AWS.
``GET /stats`` returns the calls and entries it has received.

    python -m bench.fake_eventbridge LATENCY_MS   # prints the port, serves until stopped
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
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count = len(json.loads(body or b"{}").get("Entries", []))
        with self.server.lock:
            self.server.calls += 1
            self.server.entries += count
        time.sleep(self.server.latency_s)
        self._reply(
            {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(count)]}
        )

    def do_GET(self) -> None:
        with self.server.lock:
            self._reply({"calls": self.server.calls, "entries": self.server.entries})

    def _reply(self, document: dict) -> None:
        payload = json.dumps(document).encode()
        self.send_response(200)
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
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as response:
            data = json.load(response)
        return data["calls"], data["entries"]


@contextmanager
def fake_eventbridge(latency_ms: float) -> Iterator[FakeEventBridge]:
    """Start the endpoint on a free loopback port; stop it by its pid on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_eventbridge", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(process.stdout.readline())
        yield FakeEventBridge(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency_s = float(sys.argv[1]) / 1000
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
