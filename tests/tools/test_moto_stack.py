"""moto_server starts on a free loopback port and is always stopped by its pid."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from dynamodb_fanout.moto_stack import HOST, is_alive, moto_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_server_answers_and_is_gone_afterwards(tmp_path):
    with moto_server(log_dir=tmp_path) as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
        assert is_alive(server.pid)
        sqs = boto3.client(
            "sqs",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sqs.create_queue(QueueName="probe")
        assert len(sqs.list_queues()["QueueUrls"]) == 1
    assert not is_alive(server.pid)


def test_server_is_stopped_when_the_block_fails(tmp_path):
    pid = None
    with pytest.raises(KeyboardInterrupt), moto_server(log_dir=tmp_path) as server:
        pid = server.pid
        raise KeyboardInterrupt
    assert pid is not None
    assert not is_alive(pid)


def test_two_servers_get_different_ports(tmp_path):
    with moto_server(log_dir=tmp_path) as one, moto_server(log_dir=tmp_path) as two:
        assert one.port != two.port


def test_server_dies_with_a_parent_killed_without_cleanup(tmp_path):
    """kill -9 of the process that started it must not leave the server running."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from dynamodb_fanout.moto_stack import moto_server\n"
        f"with moto_server(log_dir=Path({str(tmp_path)!r})) as s:\n"
        "    print(s.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "cli")}
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    server_pid = int(parent.stdout.readline())
    assert is_alive(server_pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while is_alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_alive(server_pid)


CALLS = 400


def _create_event_bus(port: int, name: str) -> tuple[bytes, bytes]:
    """CreateEventBus as the aws provider's Go client frames it: the headers, then the body."""
    body = json.dumps({"Name": name}).encode()
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        "X-Amz-Target: AWSEvents.CreateEventBus\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/events/"
        "aws4_request, SignedHeaders=host, Signature=0\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


def _first_read(port: int, head: bytes, body: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(head)
        sock.sendall(body)
        return sock.recv(1 << 16)


def test_each_response_arrives_in_one_piece(tmp_path):
    """The first read after a call holds the whole response, body included.

    The aws provider reads a response's headers, hands the response on, and can
    then lose a body that was not already read with them: its SDK sends the call
    again, and a create moto already did fails (cli/dynamodb_fanout/moto_serve.py says how).
    moto_server sends headers and body apart; under load a read gets the headers
    alone often enough that a few hundred calls show it.
    """
    incomplete = []
    with moto_server(log_dir=tmp_path) as server:
        for number in range(CALLS):
            head, body = _create_event_bus(server.port, f"bus-{number}")
            first = _first_read(server.port, head, body)
            headers, _, received = first.partition(b"\r\n\r\n")
            assert headers.startswith(b"HTTP/1.1 200 "), first
            length = next(
                int(line.split(b":", 1)[1])
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            if len(received) < length:
                incomplete.append(number)
    assert not incomplete, f"{len(incomplete)} of {CALLS} responses came in pieces"
