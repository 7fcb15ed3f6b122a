"""moto_server starts on a free loopback port and is always stopped by its pid."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from localrun.moto_stack import is_alive, moto_server

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
        "from localrun.moto_stack import moto_server\n"
        f"with moto_server(log_dir=Path({str(tmp_path)!r})) as s:\n"
        "    print(s.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    server_pid = int(parent.stdout.readline())
    assert is_alive(server_pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while is_alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_alive(server_pid)
