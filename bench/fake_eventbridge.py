"""A fake EventBridge endpoint on 127.0.0.1 that answers PutEvents after a fixed latency.

All strategies in the benchmark talk to it through real boto3 clients, so
request signing and serialisation are paid as they would be against AWS.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    latency_s = 0.0
    calls = 0
    entries = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count = len(json.loads(body or b"{}").get("Entries", []))
        with self.server.lock:
            self.server.calls += 1
            self.server.entries += count
        time.sleep(self.server.latency_s)
        payload = json.dumps(
            {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(count)]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_eventbridge(latency_s: float) -> Iterator[_Server]:
    """Serve on a free loopback port; stopped and closed on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency_s = latency_s
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
