"""Run the handler on a sample stream event, with no AWS account, and show the result.

An in-process moto stands in for AWS (a bus and a dead-letter queue). The
PutEvents entries the handler sends are printed as sent, numbers digit for
digit, followed by the dead-letter messages and the handler's response.

    python -m localrun.invoke examples/events/modify.json [--detail-format both]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda_src"))
from fanout import handler
from localrun.local_run import receive_all

BUS = "fanoutBus"
REGION = "us-east-1"


class _Recorder:
    """Passes PutEvents through to moto and keeps what was sent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        return self.client.put_events(Entries=Entries)


def run(event: dict[str, Any], env: dict[str, str]) -> tuple[dict, list, list]:
    """(handler response, PutEvents calls made, DLQ messages) for one event."""
    with mock_aws():
        boto3.client("events").create_event_bus(Name=BUS)
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
        os.environ.update({"EVENT_BUS_NAME": BUS, "DLQ_URL": dlq, **env})
        handler.reset()
        recorder = _Recorder(handler.runtime().publisher.client)
        handler.runtime().publisher.client = recorder
        response = handler.lambda_handler(event, None)
        parked = receive_all(sqs, dlq)
    return response, recorder.calls, parked


class _Number(str):
    """A JSON number kept as its text, so printing never rounds it."""


def pretty(value: Any, level: int = 0) -> str:
    """Indented JSON that writes numbers exactly as they were sent."""
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict) and value:
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {pretty(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and value:
        items = [f"{pad}{pretty(v, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{end}]"
    return json.dumps(value, ensure_ascii=False)


def show_entry(entry: dict[str, Any]) -> str:
    detail = json.loads(entry["Detail"], parse_float=_Number, parse_int=_Number)
    shown = {k: v for k, v in entry.items() if k != "Detail"}
    if "Time" in shown:
        shown["Time"] = shown["Time"].isoformat()
    shown["Detail"] = detail
    return pretty(shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localrun.invoke", description="Run the fan-out handler on a sample event."
    )
    parser.add_argument("event", type=Path, help="a Lambda DynamoDB stream event (JSON)")
    parser.add_argument("--detail-format", choices=("plain", "raw", "both"), default="plain")
    parser.add_argument("--max-event-bytes", type=int, help="PutEvents size budget")
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    env = {"DETAIL_FORMAT": args.detail_format}
    if args.max_event_bytes:
        env["MAX_EVENT_BYTES"] = str(args.max_event_bytes)
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read a stream event from {args.event}: {exc}")
    response, calls, parked = run(event, env)

    entries = [entry for call in calls for entry in call]
    print(f"\n== {len(entries)} PutEvents entries sent in {len(calls)} call(s)")
    for entry in entries:
        print(show_entry(entry))
    print(f"\n== {len(parked)} message(s) in the dead-letter queue")
    for body in parked:
        truncated = " (truncated to keys and metadata)" if body.get("truncated") else ""
        print(f"- {body['reason']}: {body['message']}{truncated}")
    print("\n== handler response")
    print(json.dumps(response))
    return 0


if __name__ == "__main__":
    sys.exit(main())
