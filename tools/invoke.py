"""Run the handler on a sample stream event, with no AWS account, and show the result.

An in-process moto stands in for AWS: a bus with a catch-all rule whose SQS
target lets us print every event exactly as a consumer would receive it, and
a dead-letter queue whose messages are printed too.

    python -m tools.invoke examples/events/modify.json [--detail-format both]
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

BUS = "fanoutBus"
REGION = "us-east-1"


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in the queue, deleted as read."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return messages


def run(event: dict[str, Any], env: dict[str, str]) -> tuple[dict, list, list]:
    """(handler response, events on the bus, DLQ messages) for one event."""
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name=BUS)
        tap = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])
        dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
        pattern = {"detail-type": ["INSERT", "MODIFY", "REMOVE"]}
        events.put_rule(Name="tap", EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule="tap",
            EventBusName=BUS,
            Targets=[{"Id": "tap", "Arn": tap_arn["Attributes"]["QueueArn"]}],
        )
        os.environ.update({"EVENT_BUS_NAME": BUS, "DLQ_URL": dlq, **env})
        handler.reset()
        response = handler.lambda_handler(event, None)
        delivered = [json.loads(m["Body"]) for m in drain(sqs, tap)]
        parked = drain(sqs, dlq)
    return response, delivered, parked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the fan-out handler on a sample event.")
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
    event = json.loads(args.event.read_text())
    response, delivered, parked = run(event, env)

    print(f"\n== {len(delivered)} event(s) on the bus, as a rule target receives them")
    for item in delivered:
        print(json.dumps(item, indent=2, ensure_ascii=False))
    print(f"\n== {len(parked)} message(s) in the dead-letter queue")
    for message in parked:
        body = json.loads(message["Body"])
        truncated = " (truncated to keys and metadata)" if body.get("truncated") else ""
        print(f"- {body['reason']}: {body['message']}{truncated}")
    print("\n== handler response")
    print(json.dumps(response))
    return 0


if __name__ == "__main__":
    sys.exit(main())
