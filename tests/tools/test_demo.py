"""The demo's command line and summary, without starting anything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest

from dynamodb_fanout.moto_stack import MotoServer, is_alive
from dynamodb_fanout.stream_poller import PollerStats
from localrun import demo
from localrun.local_run import Accounting, FanOutRun
from localrun.tf import REPO_ROOT as ROOT
from localrun.tf import child_pids, processes


class FakeDeployment:
    outputs: ClassVar[dict] = {
        "batch_size": 100,
        "consumer_rules": {"audit": "all", "billing": "paid"},
    }


class FakeDeliveries:
    dead_letters: ClassVar[dict] = {
        "e1": [
            {
                "reason": "EventTooLarge",
                "message": "event is 300718 bytes",
                "record": {"dynamodb": {"Keys": {"pk": {"S": "big"}}}},
                "truncated": True,
            }
        ]
    }


def test_arguments_are_checked():
    with pytest.raises(SystemExit):
        demo.parse_args(["--records", "1"])
    with pytest.raises(SystemExit):
        demo.parse_args(["--batch-size", "0"])
    args = demo.parse_args([])
    assert (args.records, args.batch_size, args.keep) == (1000, 100, False)


def test_summary_names_consumers_rules_reasons_and_rates(capsys):
    result = Accounting(
        records=10,
        published=9,
        per_consumer={"audit": 9, "billing": 2},
        dead_lettered=Counter({"EventTooLarge": 1}),
    )
    run = FanOutRun({}, PollerStats(read=10, invocations=1, handler_seconds=0.5), 0.1, 1.0)
    demo.print_summary(FakeDeployment, run, FakeDeliveries, result, 2.0)
    out = capsys.readouterr().out
    assert "audit <- all" in out and "billing <- paid" in out
    assert "reason EventTooLarge" in out and "truncated" in out
    assert "5 records/s" in out

    record = demo.summary_record(demo.parse_args([]), run, result, 2.0)
    assert record["records_per_second"] == 5.0 and record["ok"] is True


def test_one_example_per_dead_letter_reason():
    letters = {
        "a": [{"reason": "PutEventsRejected", "n": 1}],
        "b": [{"reason": "EventTooLarge", "n": 2}],
        "c": [{"reason": "PutEventsRejected", "n": 3}],
    }
    examples = demo.example_per_reason(letters)
    assert list(examples) == ["EventTooLarge", "PutEventsRejected"]
    assert examples["PutEventsRejected"]["n"] == 1


class FakeEvents:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_event_bus(self, Name: str) -> None:
        self.deleted.append(Name)


class FakeStack:
    def __init__(self) -> None:
        self.events = FakeEvents()

    def client(self, service: str) -> FakeEvents:
        return self.events


def test_bus_outage_strikes_once_halfway_through(capsys):
    stack = FakeStack()
    deployment = type("D", (), {"outputs": {"event_bus_name": "bus"}})
    received: list[int] = []
    outage = demo.BusOutage(
        stack, deployment, [None] * 1000, 100, demo.Clock(), lambda: received.append(1)
    )
    for _ in range(4):
        outage()
    assert stack.events.deleted == []
    outage()
    assert stack.events.deleted == ["bus"]
    for _ in range(5):
        outage()
    assert stack.events.deleted == ["bus"] and len(received) == 10
    assert "bus outage" in capsys.readouterr().out


def test_the_keep_hint_passes_the_endpoint_on_the_command_line():
    # Older AWS CLIs ignore AWS_ENDPOINT_URL and would call real AWS.
    server = MotoServer(pid=1234, port=45678, log_path=Path("moto.log"))
    hint = demo.keep_hint(server)
    assert "aws --endpoint-url http://127.0.0.1:45678 sqs list-queues" in hint
    assert "AWS_ENDPOINT_URL" not in hint
    assert "AWS_ACCESS_KEY_ID=testing" in hint


def session_members(session: int) -> list[str]:
    """Live processes (pid and name) of a session."""
    return [f"{p.pid} {p.name}" for p in processes() if p.session == session]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_apply_stops_everything_at_once(signum):
    """Ctrl-C or kill while terraform runs: exit 130 promptly, moto_server and terraform gone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "localrun.demo", "--records", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "terraform init + apply" in line:
                break
        server_pid = int(re.search(r"moto_server pid (\d+)", "".join(lines)).group(1))
        time.sleep(1.0)  # terraform is running now
        process.send_signal(signum)
        assert process.wait(timeout=60) == demo.EXIT_INTERRUPTED
        assert "nothing destroyed" in process.stdout.read()
        deadline = time.monotonic() + 10
        while is_alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not is_alive(server_pid)
        assert not [pid for pid in child_pids(process.pid) if is_alive(pid)]
        # Nothing the demo started lives on: terraform, or a provider plugin orphaned by
        # a terraform that had to be killed.
        deadline = time.monotonic() + 5
        while session_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not session_members(process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
