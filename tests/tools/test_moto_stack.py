"""moto_server starts on a free loopback port and is always stopped by its pid."""

from __future__ import annotations

import boto3
import pytest

from tools.moto_stack import is_alive, moto_server


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
