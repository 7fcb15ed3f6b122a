"""Fixtures: an in-process moto with a bus, a rule → SQS consumer, and a DLQ."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from fanout import Clients, Runtime, Settings, build_runtime
from tests.support.clocks import Context, SimClock
from tests.support.faults import FaultyEvents, FaultySqs

__all__ = ["BUS", "Context", "Harness", "Stack", "harness", "make_settings"]

BUS = "fanoutBus"


@dataclass
class Stack:
    """The AWS side of one test: clients and the queues to read back."""

    events: Any
    sqs: Any
    consumer_url: str
    dlq_url: str

    def drain(self, url: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            messages += batch
            for message in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def consumed(self) -> list[dict[str, Any]]:
        """Events the consumer queue received, as EventBridge delivered them."""
        return [json.loads(m["Body"]) for m in self.drain(self.consumer_url)]

    def dead_letters(self) -> list[dict[str, Any]]:
        """DLQ bodies, with the message attributes under "_attributes"."""
        out = []
        for message in self.drain(self.dlq_url):
            body = json.loads(message["Body"])
            body["_attributes"] = {
                k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()
            }
            out.append(body)
        return out


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> Stack:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    consumer = sqs.create_queue(QueueName="consumer")["QueueUrl"]
    consumer_arn = sqs.get_queue_attributes(QueueUrl=consumer, AttributeNames=["QueueArn"])
    dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
    events.put_rule(
        Name="all-changes",
        EventBusName=BUS,
        EventPattern=json.dumps({"detail-type": ["INSERT", "MODIFY", "REMOVE"]}),
    )
    events.put_targets(
        Rule="all-changes",
        EventBusName=BUS,
        Targets=[{"Id": "consumer", "Arn": consumer_arn["Attributes"]["QueueArn"]}],
    )
    return Stack(events, sqs, consumer, dlq)


def make_settings(stack: Stack, **overrides: Any) -> Settings:
    return Settings(event_bus_name=BUS, dlq_url=stack.dlq_url, **overrides)


@dataclass
class Harness:
    """A runtime over moto whose clients can be told to fail."""

    runtime: Runtime
    events: FaultyEvents
    sqs: FaultySqs
    sleeps: list[float]


def harness(stack: Stack, **overrides: Any) -> Harness:
    """The real runtime, its clients wrapped for fault injection, waiting on simulated time."""
    settings = make_settings(stack, **overrides)
    events = FaultyEvents(stack.events)
    sqs = FaultySqs(stack.sqs)
    s3 = boto3.client("s3") if settings.large_event_bucket else None
    clock = SimClock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    runtime = build_runtime(
        settings,
        Clients(events, sqs, s3),
        sleep=sleep,
        clock=clock,
        jitter=random.Random(0).random,  # the same waits on every run
    )
    return Harness(runtime, events, sqs, sleeps)
