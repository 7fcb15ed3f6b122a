"""The published event schemas (schemas/event.<format>.json), for tests to validate against.

Golden files and in-memory fakes hold PutEvents entries; ``envelope`` wraps one
the way EventBridge delivers it to a target, so every test checks the same
thing a consumer receives.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
FORMATS = ("plain", "raw", "both")


@cache
def validator(fmt: str) -> Draft4Validator:
    schema = json.loads((SCHEMA_DIR / f"event.{fmt}.json").read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=FormatChecker())


def errors(event: dict[str, Any], fmt: str) -> list[str]:
    """Every way the event breaks the schema of its format, one line each."""
    found = validator(fmt).iter_errors(event)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}" for e in found]


def assert_valid(event: dict[str, Any], fmt: str) -> None:
    problems = errors(event, fmt)
    assert not problems, f"event breaks schemas/event.{fmt}.json:\n" + "\n".join(problems[:10])


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(entry: dict[str, Any], account: str = "123456789012") -> dict[str, Any]:
    """A PutEvents entry as EventBridge delivers it (Detail parsed, time in UTC)."""
    resources = list(entry.get("Resources") or [])
    region = resources[0].split(":")[3] if resources else "us-east-1"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": _time(entry.get("Time")),
        "region": region,
        "resources": resources,
        "detail": json.loads(entry["Detail"]),
    }
