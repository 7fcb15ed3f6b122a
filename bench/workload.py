"""Stream records of a chosen size, as Lambda delivers them, for the benchmarks."""

from __future__ import annotations

import json
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


def dense_record(seq: int, item_bytes: int) -> dict[str, Any]:
    """A NEW_IMAGE INSERT of an attribute-dense item of about item_bytes.

    Many small attributes of every common type (strings, numbers, booleans,
    maps, lists, string sets), as a wide table row is: the worst case for
    the Python objects an event becomes, per byte of payload.
    """
    keys = {"pk": {"S": f"tenant-{seq % 50}"}, "sk": {"S": f"order#{seq:08d}"}}
    image: dict[str, Any] = dict(keys)
    i = 0
    while len(json.dumps(image)) < item_bytes - 120:
        kind = i % 6
        if kind == 0:
            image[f"s{i}"] = {"S": f"value-{seq}-{i}"}
        elif kind == 1:
            image[f"n{i}"] = {"N": f"{(seq * 31 + i) % 100000}.{i % 100:02d}"}
        elif kind == 2:
            image[f"b{i}"] = {"BOOL": bool((seq + i) % 2)}
        elif kind == 3:
            image[f"m{i}"] = {"M": {"q": {"N": str(i)}, "u": {"S": "EA"}}}
        elif kind == 4:
            image[f"l{i}"] = {"L": [{"N": str(i)}, {"S": "x"}]}
        else:
            image[f"t{i}"] = {"SS": [f"tag{i}", f"tag{i + 1}"]}
        i += 1
    return {
        "eventID": f"{seq:032x}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1764115200 + seq // 100,
            "Keys": keys,
            "NewImage": image,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": item_bytes,
            "StreamViewType": "NEW_IMAGE",
        },
    }


def dense_payload(count: int, item_bytes: int) -> bytes:
    """The invocation payload Lambda would hand the runtime, as bytes."""
    records = [dense_record(i, item_bytes) for i in range(count)]
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


def _order_image(seq: int, status: str, version: int, updated: int) -> dict[str, Any]:
    """An order item of about 1.2 KB of DynamoDB JSON: nested maps, a list, sets, numbers."""
    return {
        "pk": {"S": f"tenant-{seq % 50}"},
        "sk": {"S": f"order#{seq:08d}"},
        "status": {"S": status},
        "version": {"N": str(version)},
        "updatedAt": {"S": f"2026-11-26T10:{updated // 60 % 60:02d}:{updated % 60:02d}Z"},
        "total": {"N": f"{seq % 1000}.{seq % 100:02d}"},
        "currency": {"S": "EUR"},
        "customer": {
            "M": {
                "id": {"S": f"c-{seq % 977}"},
                "name": {"S": f"Customer {seq % 977}"},
                "email": {"S": f"customer{seq % 977}@example.com"},
                "address": {
                    "M": {
                        "street": {"S": f"{seq % 200} Harbour Road"},
                        "city": {"S": "Dublin"},
                        "zip": {"S": f"D{seq % 24:02d}"},
                        "country": {"S": "IE"},
                    }
                },
            }
        },
        "lines": {
            "L": [
                {
                    "M": {
                        "sku": {"S": f"sku-{seq % 300 + i}"},
                        "qty": {"N": str(i + 1)},
                        "price": {"N": f"{(seq + i) % 90 + 9}.99"},
                        "gift": {"BOOL": i == 2},
                    }
                }
                for i in range(3)
            ]
        },
        "tags": {"SS": ["priority", f"region-{seq % 5}", "web"]},
        "scores": {"NS": [str(seq % 7), "3.5", "10"]},
        "flags": {"M": {"fraudChecked": {"BOOL": True}, "invoiced": {"BOOL": status == "PAID"}}},
        "notes": {"S": "Leave at the reception desk; call on arrival. " * 4},
        "discount": {"NULL": True},
    }


def modify_record(seq: int) -> dict[str, Any]:
    """A NEW_AND_OLD_IMAGES MODIFY: an order paid; status, version and updatedAt change."""
    old = _order_image(seq, "NEW", 3, seq)
    new = _order_image(seq, "PAID", 4, seq + 17)
    return {
        "eventID": f"{seq:032x}",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1764115200 + seq // 100,
            "Keys": {"pk": old["pk"], "sk": old["sk"]},
            "NewImage": new,
            "OldImage": old,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": len(json.dumps(new)) + len(json.dumps(old)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def modify_batch(count: int) -> dict[str, Any]:
    return {"Records": [modify_record(i) for i in range(count)]}
