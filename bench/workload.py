"""Stream records of a chosen size, as Lambda delivers them, for the benchmarks."""

from __future__ import annotations

from typing import Any

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-11-26T00:00:00.000"


def record(seq: int, item_bytes: int) -> dict[str, Any]:
    """A NEW_IMAGE INSERT whose item is about item_bytes of DynamoDB JSON."""
    keys = {"orderId": {"S": f"o-{seq:08d}"}}
    image = {
        **keys,
        "customerId": {"S": f"c-{seq % 977}"},
        "status": {"S": "NEW"},
        "total": {"N": f"{seq % 1000}.{seq % 100:02d}"},
        "lines": {
            "L": [{"M": {"sku": {"S": f"sku-{i}"}, "qty": {"N": str(i + 1)}}} for i in range(3)]
        },
    }
    filler = max(0, item_bytes - 330)
    image["notes"] = {"S": "n" * filler}
    return {
        "eventID": f"{seq:032x}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1764115200 + seq,
            "Keys": keys,
            "NewImage": image,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": item_bytes,
            "StreamViewType": "NEW_IMAGE",
        },
    }


def batch(count: int, item_bytes: int) -> dict[str, Any]:
    return {"Records": [record(i, item_bytes) for i in range(count)]}
