"""Build Lambda DynamoDB stream events for tests, as Lambda delivers them."""

from __future__ import annotations

from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "Orders"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
STREAM_ARN = f"{TABLE_ARN}/stream/2026-11-26T00:00:00.000"


def record(
    seq: int,
    event_name: str = "INSERT",
    keys: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    view_type: str = "NEW_AND_OLD_IMAGES",
    created: float = 1764115200.0,
    **extra: Any,
) -> dict[str, Any]:
    """One stream record; images are DynamoDB JSON."""
    keys = keys or {"pk": {"S": f"order-{seq}"}}
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": keys,
        "SequenceNumber": f"{seq:021d}",
        "SizeBytes": 100,
        "StreamViewType": view_type,
    }
    if new is not None:
        ddb["NewImage"] = new
    if old is not None:
        ddb["OldImage"] = old
    return {
        "eventID": f"event-{seq}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": ddb,
        "eventSourceARN": STREAM_ARN,
        **extra,
    }


def insert(seq: int, payload: str = "x", **fields: Any) -> dict[str, Any]:
    """An INSERT of a small order item, with a payload to control its size."""
    keys = {"pk": {"S": f"order-{seq}"}}
    image = {**keys, "status": {"S": "NEW"}, "payload": {"S": payload}}
    image.update(fields)
    return record(seq, "INSERT", keys=keys, new=image)


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def change(
    seq: int, item: int, keys: dict[str, Any] | None = None, payload: str = "x"
) -> dict[str, Any]:
    """A MODIFY of item ``item``; ``seq`` orders the stream."""
    keys = keys or {"pk": {"S": f"item-{item}"}}
    new = {**keys, "n": {"N": str(seq)}, "payload": {"S": payload}}
    return record(seq, "MODIFY", keys=keys, new=new)
