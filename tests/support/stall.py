"""Endpoints and clocks for the handler's promises about time.

``stalling_endpoint`` is a TCP server on 127.0.0.1 that accepts connections
and never answers, as an overloaded or black-holed AWS endpoint does. The
test that starts it stops it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from fanout import client_config


@contextmanager
def stalling_endpoint() -> Iterator[str]:
    """The URL of a server that accepts, reads, and never replies."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)  # kept open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        server.close()


def client(service: str, url: str, concurrency: int = 8) -> Any:
    """A real botocore client for the endpoint, configured as the handler's are."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(concurrency),
    )
