"""The publishing strategies the benchmarks compare, all over real boto3 clients.

- one PutEvents call per record, in series (the original Python app);
- chunks of 10 entries, in series (the archived Java app);
- this handler: size-aware packing, requests sent by a small thread pool.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from typing import Any

import boto3

from fanout import Runtime, Settings, build_runtime, client_config, process

BUS = "fanoutBus"
SETTINGS = Settings(event_bus_name=BUS, dlq_url="https://sqs.local/1/dlq")


def events_client(url: str, concurrency: int = SETTINGS.publish_concurrency) -> Any:
    return boto3.client(
        "events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=client_config(concurrency),
    )


def baseline_entries(event: dict[str, Any]) -> list[dict[str, Any]]:
    """What the older apps sent: the record's DynamoDB JSON as the detail."""
    return [
        {
            "Source": "dynamodb.Orders",
            "DetailType": r["eventName"],
            "Detail": json.dumps(r),
            "EventBusName": BUS,
        }
        for r in event["Records"]
    ]


def one_per_record(client: Any, event: dict[str, Any]) -> None:
    for entry in baseline_entries(event):
        client.put_events(Entries=[entry])


def chunks_of_ten(client: Any, event: dict[str, Any]) -> None:
    entries = baseline_entries(event)
    for start in range(0, len(entries), 10):
        client.put_events(Entries=entries[start : start + 10])


def shipped_runtime(url: str, settings: Settings = SETTINGS) -> Runtime:
    """The runtime as the function builds it (its clients tuned as in Lambda), sending to url.

    The endpoint comes the way `dynamodb-fanout local-run` gives it, AWS_ENDPOINT_URL,
    set only while the clients are made; an explicit client would miss the tuning
    build_runtime does to them and measure a slower function than the one shipped.
    """
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )
    before = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        return build_runtime(settings, session=session)
    finally:
        if before is None:
            del os.environ["AWS_ENDPOINT_URL"]
        else:
            os.environ["AWS_ENDPOINT_URL"] = before


def warm_fanout(url: str, settings: Settings = SETTINGS) -> Callable[[Any, dict[str, Any]], None]:
    """This handler as a warm execution environment: its runtime (client, threads, the rate
    it learned) built once, as Lambda keeps it between invocations; the first invocation
    is run here, so what is measured is the environment at work."""
    runtime = shipped_runtime(url, settings)

    def fanout(_: Any, event: dict[str, Any]) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF log line
            response = process(event, None, runtime)
        assert response == {"batchItemFailures": []}, response

    fanout(None, {"Records": [_warm_record()]})
    for _ in range(3):  # past the rate's start: a warm environment has learned its rate
        fanout(None, _warm_batch())
    return fanout


def _warm_record() -> dict[str, Any]:
    from bench.workload import record  # noqa: PLC0415

    return record(10**7, 512)


def _warm_batch() -> dict[str, Any]:
    from bench.workload import batch  # noqa: PLC0415

    return batch(1000, 256)
