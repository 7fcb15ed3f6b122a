"""`dynamodb-fanout check-pattern`: EventBridge decides which converted samples match."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore.stub import ANY, Stubber

from dynamodb_fanout.aws import Aws
from dynamodb_fanout.check_pattern import run
from dynamodb_fanout.main import main, parser
from dynamodb_fanout.moto_stack import is_alive
from tests.cli.conftest import client

INSERT = Path(__file__).resolve().parents[2] / "examples" / "events" / "insert.json"
PAID = '{"detail-type":["MODIFY"],"detail":{"newImage":{"status":["PAID"]}}}'


def test_the_bundled_samples_are_matched_by_eventbridge(moto, cli) -> None:
    ran = cli("check-pattern", "--pattern", PAID)
    assert ran.status == 0, ran.err
    matched = [line.split()[1] for line in ran.out.splitlines() if line.startswith("  match")]
    assert matched == [
        "mixed-batch.json#1",
        "mixed-batch.json#6",
        "mixed-batch.json#11",
        "mixed-batch.json#16",
        "modify.json#0",
    ]
    assert "not converted: record has no 'dynamodb' section" in ran.out
    assert "5 of 27 sample records match (decided by a temporary bus" in ran.out
    # the temporary bus and queue are gone again
    assert [b["Name"] for b in client(moto, "events").list_event_buses()["EventBuses"]] == [
        "default"
    ]
    assert not client(moto, "sqs").list_queues().get("QueueUrls")


def test_a_pattern_file_and_own_events(moto, cli, tmp_path) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text(json.dumps({"detail": {"newImage": {"n": [{"numeric": [">", 10]}]}}}))
    events = tmp_path / "events.json"
    sample = json.loads(INSERT.read_text())
    sample["Records"][0]["dynamodb"]["NewImage"]["n"] = {"N": "11"}
    events.write_text(json.dumps(sample))
    ran = cli("check-pattern", "--pattern", str(pattern), "--event", str(events))
    assert ran.status == 0, ran.err
    assert "1 of 1 sample records match" in ran.out

    sample["Records"][0]["dynamodb"]["NewImage"]["n"] = {"N": "9"}
    events.write_text(json.dumps(sample))
    ran = cli("check-pattern", "--pattern", str(pattern), "--event", str(events))
    assert ran.status == 1
    assert "0 of 1 sample records match" in ran.out


def test_test_event_pattern_gets_the_event_as_eventbridge_delivers_it(moto, tmp_path) -> None:
    """Where TestEventPattern exists (AWS), it decides; here AWS's answers are stubbed."""
    events = client(moto, "events")
    stub = Stubber(events)
    stub.add_response("test_event_pattern", {"Result": True}, {"EventPattern": PAID, "Event": ANY})
    stub.activate()
    sample = json.loads(INSERT.read_text())
    sample["Records"][0]["dynamodb"]["NewImage"]["big"] = {"N": "1" * 38}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(sample))
    seen: list[str] = []
    real = events.test_event_pattern

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs["Event"])
        return real(**kwargs)

    events.test_event_pattern = spy

    class Stubbed(Aws):
        def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
            return events if service == "events" else super().client(service, *args, **kwargs)

    args = parser().parse_args(["check-pattern", "--pattern", PAID, "--event", str(path)])
    assert run(Stubbed(endpoint_url=moto.endpoint), args) == 0
    (event,) = [json.loads(e, parse_float=Decimal) for e in seen]
    assert event["detail-type"] == "INSERT" and event["source"] == "dynamodb.Orders"
    assert event["detail"]["newImage"]["big"] == Decimal("1" * 38)
    assert event["region"] == "us-east-1" and event["resources"][0].startswith("arn:aws:dynamodb")
    stub.assert_no_pending_responses()


def test_bad_patterns_are_one_line(moto, cli) -> None:
    for pattern, says in [
        ('{"detail-type":[MODIFY}', "the pattern is not valid JSON"),
        ('{"detail-type":"MODIFY"}', "EventBridge rejects the pattern"),
        ("missing.json", "cannot read the pattern file 'missing.json'"),
        ("[]", "cannot read the pattern file"),
    ]:
        ran = cli("check-pattern", "--pattern", pattern)
        assert ran.status == 2, pattern
        assert says in ran.err and ran.err.count("\n") == 1


def test_no_match_names_a_source_or_detail_type_no_sample_has(moto, cli) -> None:
    ran = cli("check-pattern", "--pattern", '{"source":["dynamodb.orders"]}')
    assert ran.status == 1, ran.err
    assert "0 of 27 sample records match" in ran.out
    assert (
        '  the pattern\'s source ["dynamodb.orders"] matches no sample: the samples have '
        "dynamodb.Orders (EventBridge matches case-sensitively); --source S converts the "
        "samples with your function's EVENT_SOURCE\n" in ran.out
    )
    assert "detail-type" not in ran.out.split("sample records match", 1)[1]

    ran = cli(
        "check-pattern", "--pattern", '{"detail-type":["UPDATE"],"source":["dynamodb.Orders"]}'
    )
    assert ran.status == 1, ran.err
    tail = ran.out.split("sample records match", 1)[1]
    assert (
        'the pattern\'s detail-type ["UPDATE"] matches no sample: the samples have '
        "INSERT, MODIFY, REMOVE\n" in tail
    )
    assert "source" not in tail  # dynamodb.Orders alone matches samples: no word on it

    # source and detail-type match samples; the detail is what matches none: no such line
    ran = cli("check-pattern", "--pattern", '{"detail-type":["MODIFY"],"detail":{"x":["y"]}}')
    assert ran.status == 1
    assert ran.out.rstrip().endswith(
        "(decided by a temporary bus; the endpoint has no TestEventPattern)"
    )


def test_credentials_found_are_used_never_a_private_moto(
    moto, recorder, monkeypatch, capsys
) -> None:
    """With credentials and no --endpoint-url the pattern goes where boto3 sends it (here the
    environment's AWS_ENDPOINT_URL, standing in for AWS): no private server is started."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", recorder.endpoint)
    assert main(["check-pattern", "--pattern", PAID]) == 0
    captured = capsys.readouterr()
    assert "moto_server" not in captured.err + captured.out
    assert "5 of 27 sample records match (decided by a temporary bus;" in captured.out
    assert any(
        r.headers.get("x-amz-target") == "AWSEvents.TestEventPattern" for r in recorder.requests
    )


def test_without_credentials_a_private_moto_decides_and_is_stopped_after(
    monkeypatch, tmp_path, capsys
) -> None:
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["check-pattern", "--pattern", PAID]) == 0
    captured = capsys.readouterr()
    assert "5 of 27 sample records match (decided by a temporary bus on a private moto_server" in (
        captured.out
    )
    said = re.search(r"private moto_server at http://127\.0\.0\.1:\d+ \(pid (\d+)\)", captured.err)
    assert said, captured.err
    assert not is_alive(int(said.group(1)))  # stopped by its pid, before the command returned
