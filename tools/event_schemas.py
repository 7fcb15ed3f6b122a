"""Write (or check) schemas/event.<format>.json: the JSON Schema of the events on the bus.

One schema per DETAIL_FORMAT, in JSON Schema draft-04 because that is what the
EventBridge schema registry accepts besides OpenAPI 3 (type JSONSchemaDraft4),
so the same file serves validation, the registry and code bindings. The three
files share their parts, hence one generator instead of three hand-kept files.

    python -m tools.event_schemas          # rewrite schemas/
    python -m tools.event_schemas --check  # exit 1 if schemas/ is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schemas"
FORMATS = ("plain", "raw", "both")
DRAFT_04 = "http://json-schema.org/draft-04/schema#"

EVENT_NAMES = ["INSERT", "MODIFY", "REMOVE"]
STREAM_VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", None]
TABLE_ARN = r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+$"
# A stream ARN; the table ARN alone for events of `dynamodb-fanout backfill`.
STREAM_ARN = r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+(/stream/.+)?$"
# The record's eventName, BACKFILL for items published by `dynamodb-fanout backfill`,
# CURRENT_ITEM for an item `dynamodb-fanout redrive --from-table` read from the table.
DETAIL_TYPES = [*EVENT_NAMES, "BACKFILL", "CURRENT_ITEM"]


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _nullable_string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": ["string", "null"], "description": description, **extra}


def _attribute_value() -> dict[str, Any]:
    """One DynamoDB typed value, e.g. {"N": "1"}: exactly one type key."""
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "description": "A DynamoDB attribute value in DynamoDB JSON (one type key).",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {
            "S": {"type": "string"},
            "N": {"type": "string", "description": "The number's digits, as DynamoDB stores them."},
            "B": {"type": "string", "description": "Binary, base64."},
            "BOOL": {"type": "boolean"},
            "NULL": {"enum": [True]},
            "L": {"type": "array", "items": {"$ref": "#/definitions/AttributeValue"}},
            "M": {"$ref": "#/definitions/Item"},
            "SS": strings,
            "NS": strings,
            "BS": strings,
        },
    }


def _claim_check() -> dict[str, Any]:
    return {
        "description": (
            "Present only when the whole event was too large for the bus: the full event "
            "(the same JSON this event would have been) is the S3 object it points to. "
            "Images are then left out; keys, metadata and changedAttributes stay."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["bucket", "key", "size", "uri"],
        "properties": {
            "bucket": _string("S3 bucket holding the full event.", minLength=3),
            "key": _string("Object key: <prefix><table>/<eventID>.json.", minLength=1),
            "size": {
                "type": "integer",
                "minimum": 0,
                "description": "Size of the stored event in bytes (UTF-8 JSON).",
            },
            "uri": _string("s3://<bucket>/<key>", pattern="^s3://[^/]+/.+$"),
        },
    }


def _detail(fmt: str) -> dict[str, Any]:
    plain = fmt in ("plain", "both")
    raw = fmt in ("raw", "both")
    properties: dict[str, Any] = {
        "eventID": _string("The stream record's eventID: de-duplicate on it (at-least-once)."),
        "eventName": {"type": "string", "enum": EVENT_NAMES},
        "eventSourceARN": _string(
            "The table's stream ARN (the table ARN for backfilled items).", pattern=STREAM_ARN
        ),
        "tableName": _string("The table's name.", minLength=1),
        "awsRegion": _nullable_string("The table's region."),
        "sequenceNumber": _string("The stream record's sequence number.", minLength=1),
        "approximateCreationDateTime": _nullable_string(
            "When the change was made, ISO-8601 UTC.", format="date-time"
        ),
        "streamViewType": {"type": ["string", "null"], "enum": STREAM_VIEW_TYPES},
    }
    required = ["eventID", "eventName", "eventSourceARN", "tableName", "sequenceNumber"]
    if plain:
        item = {"$ref": "#/definitions/PlainItem"}
        properties["keys"] = {**item}
        properties["newImage"] = {**item}
        properties["oldImage"] = {**item}
        required.append("keys")
    if raw:
        properties["dynamodb"] = {
            "description": (
                "The stream record's dynamodb section as Lambda delivers it (DynamoDB JSON, "
                "binary as base64); fields AWS adds later pass through."
            ),
            "type": "object",
            "required": ["Keys"],
            "properties": {
                "Keys": {"$ref": "#/definitions/Item"},
                "NewImage": {"$ref": "#/definitions/Item"},
                "OldImage": {"$ref": "#/definitions/Item"},
                "SequenceNumber": {"type": "string"},
                "SizeBytes": {"type": "integer", "minimum": 0},
                "StreamViewType": {"type": "string", "enum": STREAM_VIEW_TYPES[:-1]},
                "ApproximateCreationDateTime": {
                    "type": "number",
                    "description": "Epoch seconds.",
                },
            },
        }
        required.append("dynamodb")
    properties["changedAttributes"] = {
        "description": "MODIFY with both images: top-level attribute names that differ, sorted.",
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
    }
    properties["userIdentity"] = {
        "description": "Who made the change, when not a user (TTL deletions).",
        "type": "object",
        "properties": {"type": {"type": "string"}, "principalId": {"type": "string"}},
    }
    properties["claimCheck"] = {"$ref": "#/definitions/ClaimCheck"}
    properties["redriveOf"] = {
        "description": (
            "CURRENT_ITEM only: the parked change this item stands in for. Its images were "
            "lost to size, so the item as the table held it at redrive time is published "
            "with a new eventID; this names the change it replaces."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["eventID", "eventName", "sequenceNumber", "reason"],
        "properties": {
            "eventID": _string("The parked change's eventID."),
            "eventName": {"type": "string", "enum": EVENT_NAMES},
            "sequenceNumber": _string("The parked change's sequence number."),
            "reason": _string("Why the change was parked in the DLQ (e.g. EventTooLarge)."),
        },
    }

    no_images: list[dict[str, Any]] = []
    if plain:
        no_images += [{"required": ["newImage"]}, {"required": ["oldImage"]}]
    pointer: dict[str, Any] = {"required": ["claimCheck"]}
    if no_images:
        pointer["not"] = {"anyOf": no_images}
    if raw:
        pointer["properties"] = {
            "dynamodb": {"not": {"anyOf": [{"required": ["NewImage"]}, {"required": ["OldImage"]}]}}
        }
    return {
        "description": f"The change, DETAIL_FORMAT={fmt}.",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        # A full event, or a claim-check pointer to one (then without images).
        "oneOf": [{"not": {"required": ["claimCheck"]}}, pointer],
    }


def schema(fmt: str) -> dict[str, Any]:
    """The schema of an event as EventBridge delivers it to a target, for one format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown detail format {fmt!r}")
    definitions: dict[str, Any] = {
        "Detail": _detail(fmt),
        "ClaimCheck": _claim_check(),
    }
    if fmt in ("plain", "both"):
        definitions["PlainItem"] = {
            "description": "An item as plain JSON: numbers keep every digit, binary is base64.",
            "type": "object",
        }
    if fmt in ("raw", "both"):
        definitions["Item"] = {
            "type": "object",
            "additionalProperties": {"$ref": "#/definitions/AttributeValue"},
        }
        definitions["AttributeValue"] = _attribute_value()
    return {
        "$schema": DRAFT_04,
        "title": f"DynamoDBStreamChange{fmt.capitalize()}",
        "description": (
            "One DynamoDB stream change as the fan-out publishes it on the event bus "
            f"(detail format {fmt}). Envelope fields are EventBridge's."
        ),
        "type": "object",
        "required": ["detail-type", "source", "time", "resources", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "detail-type": {
                "type": "string",
                "enum": DETAIL_TYPES,
                "description": (
                    "The stream record's eventName; BACKFILL for items published by "
                    "`dynamodb-fanout backfill`, CURRENT_ITEM for an item `dynamodb-fanout "
                    "redrive --from-table` read from the table in place of a parked change "
                    "(detail.eventName is then INSERT, detail.redriveOf names the change)."
                ),
            },
            "source": _string(
                "EVENT_SOURCE, by default dynamodb.<table name>.", minLength=1, maxLength=256
            ),
            "account": {"type": "string"},
            "time": _string(
                "The change's ApproximateCreationDateTime (EventBridge's time of receipt "
                "when the record has none).",
                format="date-time",
            ),
            "region": {"type": "string"},
            "resources": {
                "description": "The table's ARN.",
                "type": "array",
                "minItems": 1,
                "maxItems": 1,
                "items": {"type": "string", "pattern": TABLE_ARN},
            },
            "detail": {"$ref": "#/definitions/Detail"},
        },
        "definitions": definitions,
    }


def render(fmt: str) -> str:
    return json.dumps(schema(fmt), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if schemas/ is stale")
    args = parser.parse_args(argv)
    stale = []
    for fmt in FORMATS:
        path = SCHEMA_DIR / f"event.{fmt}.json"
        text = render(fmt)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run python -m tools.event_schemas")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
