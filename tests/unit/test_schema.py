"""The published event schemas: current, valid draft-04, and every golden event conforms.

A schema no test checks drifts from the events; here the golden files (what
the handler emits for each sample and format) are validated against the
schema of their format, and the schema is shown to reject what it must.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests import event_schema
from tools import event_schemas

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))


def test_schemas_are_generated_from_the_current_generator() -> None:
    assert event_schemas.main(["--check"]) == 0, "run: python -m tools.event_schemas"


@pytest.mark.parametrize("fmt", event_schema.FORMATS)
def test_schema_is_draft_04_for_the_registry(fmt: str) -> None:
    schema = event_schema.validator(fmt).schema
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    # The registry takes at most 100000 characters of content.
    assert len(json.dumps(schema)) < 100_000


def test_there_are_golden_files_for_every_format() -> None:
    assert {p.name.split(".")[1] for p in GOLDEN_FILES} == set(event_schema.FORMATS)


@pytest.mark.parametrize("golden", GOLDEN_FILES, ids=lambda p: p.name)
def test_every_golden_event_conforms(golden: Path) -> None:
    fmt = golden.name.split(".")[1]
    # Malformed records appear in the golden files as their error, not as events.
    entries = [e for e in json.loads(golden.read_text(encoding="utf-8")) if "Detail" in e]
    assert entries
    for entry in entries:
        event_schema.assert_valid(event_schema.envelope(entry), fmt)


def _modify(fmt: str) -> dict:
    (entry,) = json.loads((GOLDEN / f"modify.{fmt}.json").read_text(encoding="utf-8"))
    return event_schema.envelope(entry)


def _pointer(fmt: str) -> dict:
    event = _modify(fmt)
    detail = event["detail"]
    detail.pop("newImage", None)
    detail.pop("oldImage", None)
    if "dynamodb" in detail:
        detail["dynamodb"] = {
            k: v for k, v in detail["dynamodb"].items() if k not in ("NewImage", "OldImage")
        }
    detail["claimCheck"] = {
        "bucket": "b-1",
        "key": "large-events/Orders/e1.json",
        "size": 300000,
        "uri": "s3://b-1/large-events/Orders/e1.json",
    }
    return event


@pytest.mark.parametrize("fmt", event_schema.FORMATS)
def test_a_pointer_event_conforms(fmt: str) -> None:
    event_schema.assert_valid(_pointer(fmt), fmt)


def _drop_detail(field: str):
    return lambda e: e["detail"].pop(field)


BREAKAGES = {
    "unknown detail field": lambda e: e["detail"].update(extra=1),
    "no eventID": _drop_detail("eventID"),
    "no sequenceNumber": _drop_detail("sequenceNumber"),
    "unknown eventName": lambda e: e["detail"].update(eventName="UPSERT"),
    "unknown detail-type": lambda e: e.update({"detail-type": "UPDATE"}),
    "resource not a table": lambda e: e.update(resources=["arn:aws:sqs:us-east-1:1:q"]),
    "time not a date": lambda e: e.update(time="yesterday"),
    "changedAttributes repeated": lambda e: e["detail"].update(changedAttributes=["a", "a"]),
    "pointer with an image": lambda e: e["detail"].update(
        claimCheck=_pointer("plain")["detail"]["claimCheck"]
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_schema_rejects(breakage: str) -> None:
    event = copy.deepcopy(_modify("both"))
    BREAKAGES[breakage](event)
    assert event_schema.errors(event, "both")


@pytest.mark.parametrize(
    ("fmt", "field"), [("plain", "keys"), ("raw", "dynamodb"), ("both", "keys")]
)
def test_format_specific_fields_are_required(fmt: str, field: str) -> None:
    event = _modify(fmt)
    del event["detail"][field]
    assert event_schema.errors(event, fmt)


def test_raw_rejects_a_value_that_is_not_dynamodb_json() -> None:
    event = _modify("raw")
    event["detail"]["dynamodb"]["NewImage"]["total"] = {"N": "1", "S": "1"}
    assert event_schema.errors(event, "raw")
    event["detail"]["dynamodb"]["NewImage"]["total"] = {"DEC": "1"}
    assert event_schema.errors(event, "raw")


def test_raw_pointer_carries_keys_only() -> None:
    event = _pointer("raw")
    event["detail"]["dynamodb"]["NewImage"] = {"a": {"S": "x"}}
    assert event_schema.errors(event, "raw")


def test_a_backfilled_item_conforms() -> None:
    """Items published by the CLI's backfill: detail-type BACKFILL, the table ARN as source ARN."""
    event = _modify("plain")
    event["detail-type"] = "BACKFILL"
    event["detail"]["eventSourceARN"] = event["resources"][0]
    event_schema.assert_valid(event, "plain")
