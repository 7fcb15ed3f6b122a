"""Event sizes and EventBridge cost per million changes for each detail format.

EventBridge bills custom events at $1.00 per million, each 64 KB of an event
(PutEvents size formula) counting as one event. This prints, for MODIFY
records of generated order items of a few sizes, the entry size the handler
computes in each format and what a million such changes cost on the bus.

    PYTHONPATH=lambda_src:. .venv/bin/python -m tools.event_cost
"""

from __future__ import annotations

import json
import math
from typing import Any

from fanout.records import convert, decode
from fanout.settings import Settings

CHUNK_BYTES = 64 * 1024
USD_PER_MILLION_CHUNKS = 1.00
FORMATS = ("plain", "raw", "both")


def modify_record(lines: int) -> dict[str, Any]:
    """A MODIFY of an order with ``lines`` order lines, both images (status NEW → PAID)."""
    keys = {"pk": {"S": "order-1"}}
    attrs = {
        f"line{i}": {
            "M": {
                "sku": {"S": f"sku-{i:05d}"},
                "qty": {"N": str(i % 7 + 1)},
                "price": {"N": "19.99"},
                "note": {"S": "gift wrap"},
            }
        }
        for i in range(lines)
    }
    ddb = {
        "ApproximateCreationDateTime": 1764115200,
        "Keys": keys,
        "NewImage": {**keys, "status": {"S": "PAID"}, **attrs},
        "OldImage": {**keys, "status": {"S": "NEW"}, **attrs},
        "SequenceNumber": "100000000000000000001",
        "SizeBytes": 1,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    return {
        "eventID": "e1",
        "eventName": "MODIFY",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/x",
        "dynamodb": ddb,
    }


def main() -> None:
    print("| item | plain | raw | both | $ per million changes (plain / raw / both) |")
    print("|---|---|---|---|---|")
    for item_kb in (1, 10, 20):
        record = modify_record(item_kb * 10)
        image = len(json.dumps(record["dynamodb"]["NewImage"], separators=(",", ":")))
        sizes = []
        for fmt in FORMATS:
            settings = Settings(event_bus_name="b", dlq_url="https://q/1/d", detail_format=fmt)
            sizes.append(convert(decode(0, record), settings).size)
        kb = " | ".join(f"{s / 1000:.1f} KB" for s in sizes)
        usd = " / ".join(f"{math.ceil(s / CHUNK_BYTES) * USD_PER_MILLION_CHUNKS:g}" for s in sizes)
        print(f"| {image / 1000:.0f} KB | {kb} | {usd} |")


if __name__ == "__main__":
    main()
