"""Run the handler on a sample stream event, with no AWS account, and show the result.

An in-process moto stands in for AWS (a bus and a dead-letter queue). The
PutEvents entries the handler sends are printed as sent, numbers digit for
digit, followed by the dead-letter messages and the handler's response.

    python -m localrun.invoke examples/events/modify.json [--detail-format both]
    python -m localrun.invoke examples/events/mixed-batch.json --summary

Exit status: 0 when the handler ran, 2 when the file is not a stream event
(one line says what shape was expected and what was found instead).
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
from fanout import Clients, Settings, build_runtime, process
from localrun.local_run import receive_all

BUS = "Orders-fanout-bus"  # the bus the module creates for table Orders (<name>-bus)
REGION = "us-east-1"


class _Recorder:
    """Passes PutEvents through to moto and keeps what was sent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        return self.client.put_events(Entries=Entries)


def run(event: dict[str, Any], env: dict[str, str]) -> tuple[dict, list, list]:
    """(handler response, PutEvents calls made, DLQ messages) for one event."""
    with mock_aws():
        boto3.client("events").create_event_bus(Name=BUS)
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="fanout-dlq")["QueueUrl"]
        settings = Settings.from_env({"EVENT_BUS_NAME": BUS, "DLQ_URL": dlq, **env})
        recorder = _Recorder(boto3.client("events"))
        runtime = build_runtime(settings, Clients(recorder, sqs))
        response = process(event, None, runtime)
        parked = receive_all(sqs, dlq)
    return response, recorder.calls, parked


class _Number(str):
    """A JSON number kept as its text, so printing never rounds it."""


def pretty(value: Any, level: int = 0) -> str:
    """Indented JSON that writes numbers exactly as they were sent."""
    pad, end = "  " * (level + 1), "  " * level
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict) and value:
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {pretty(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and value:
        items = [f"{pad}{pretty(v, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{end}]"
    return json.dumps(value, ensure_ascii=False)


def show_entry(entry: dict[str, Any]) -> str:
    detail = json.loads(entry["Detail"], parse_float=_Number, parse_int=_Number)
    shown = {k: v for k, v in entry.items() if k != "Detail"}
    if "Time" in shown:
        shown["Time"] = shown["Time"].isoformat()
    shown["Detail"] = detail
    return pretty(shown)


ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
RECORD_KEYS = frozenset({"eventID", "eventName", "eventSource", "dynamodb", "eventSourceARN"})
EXPECTED = 'a Lambda DynamoDB stream event, {"Records": [<stream record>, ...]}'


class NotAStreamEvent(ValueError):
    """The file parsed as JSON but is not the event Lambda hands the handler."""


def _looks_like_item(value: dict[str, Any]) -> bool:
    """Every value is a DynamoDB attribute value, e.g. {"S": "o-1"}."""
    return all(
        isinstance(attr, dict) and len(attr) == 1 and next(iter(attr)) in ATTRIBUTE_TYPES
        for attr in value.values()
    )


def check_shape(event: Any) -> dict[str, Any]:
    """The event when it is shaped like a stream event; why not, otherwise.

    Records inside the list are not checked here: a malformed record is the
    handler's business (it parks it in the DLQ), and showing that is the point.
    """
    if isinstance(event, list):
        hint = (
            'wrap the records: {"Records": [...]}'
            if event and all(isinstance(r, dict) and RECORD_KEYS & r.keys() for r in event)
            else "found a JSON array"
        )
        raise NotAStreamEvent(f"expected {EXPECTED}; {hint}")
    if not isinstance(event, dict):
        raise NotAStreamEvent(f"expected {EXPECTED}; found a JSON {type(event).__name__}")
    if "Records" not in event:
        if not event:
            found = "found an empty object {}"
        elif RECORD_KEYS & event.keys():
            found = 'found a single stream record; wrap it: {"Records": [<the record>]}'
        elif _looks_like_item(event):
            found = (
                'found a DynamoDB item (attribute values like {"S": ...}); a stream record '
                "carries items under dynamodb.NewImage / OldImage"
            )
        else:
            found = f"found an object with keys {', '.join(sorted(event)[:5])} but no Records"
        raise NotAStreamEvent(f"expected {EXPECTED}; {found}")
    records = event["Records"]
    if not isinstance(records, list):
        raise NotAStreamEvent(f"expected {EXPECTED}; Records is a {type(records).__name__}")
    if not records:
        raise NotAStreamEvent(f"expected {EXPECTED}; Records is empty, nothing to run")
    return event


def name_record(body: dict[str, Any], records: list[Any]) -> str:
    """Which record of the event a dead-letter message is about."""
    record = body.get("record")
    event_id = record.get("eventID") if isinstance(record, dict) else None
    position = next(
        (
            i
            for i, candidate in enumerate(records)
            if candidate == record
            or (
                event_id is not None
                and isinstance(candidate, dict)
                and candidate.get("eventID") == event_id
            )
        ),
        None,
    )
    parts = [f"record {position + 1} of {len(records)}" if position is not None else "record ?"]
    if event_id is not None:
        parts.append(f"eventID {event_id!r}")
    keys = record.get("dynamodb", {}).get("Keys") if isinstance(record, dict) else None
    if isinstance(keys, dict) and keys:
        parts.append(f"keys {json.dumps(keys, sort_keys=True)}")
    return ", ".join(parts)


def entry_line(entry: dict[str, Any]) -> str:
    """One entry in one line: what a consumer's rule would match on."""
    detail = json.loads(entry["Detail"])
    keys = json.dumps(detail.get("keys", {}), sort_keys=True, ensure_ascii=False)
    size = len(entry["Detail"].encode())
    return f"- {entry['DetailType']:<6} {entry['Source']} keys {keys} ({size:,} bytes of detail)"


def fail(message: str) -> int:
    print(f"invoke: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localrun.invoke", description="Run the fan-out handler on a sample event."
    )
    parser.add_argument("event", type=Path, help="a Lambda DynamoDB stream event (JSON)")
    parser.add_argument("--detail-format", choices=("plain", "raw", "both"), default="plain")
    parser.add_argument("--max-event-bytes", type=int, help="PutEvents size budget")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--summary", action="store_true", help="one line per PutEvents entry instead of the entry"
    )
    shown.add_argument(
        "--quiet", action="store_true", help="no entries: counts, dead letters and the response"
    )
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
    try:
        event = check_shape(json.loads(args.event.read_text()))
    except OSError as exc:
        return fail(f"cannot read {args.event}: {exc.strerror or exc}")
    except ValueError as exc:  # NotAStreamEvent and json.JSONDecodeError
        return fail(f"{args.event}: {exc}")
    response, calls, parked = run(event, env)

    entries = [entry for call in calls for entry in call]
    print(f"\n== {len(entries)} PutEvents entries sent in {len(calls)} call(s)")
    if not args.quiet:
        for entry in entries:
            print(entry_line(entry) if args.summary else show_entry(entry))
    print(f"\n== {len(parked)} message(s) in the dead-letter queue")
    for body in parked:
        truncated = " (truncated to keys and metadata)" if body.get("truncated") else ""
        print(
            f"- {body['reason']} ({name_record(body, event['Records'])}): "
            f"{body['message']}{truncated}"
        )
    print("\n== handler response")
    print(json.dumps(response))
    return 0


if __name__ == "__main__":
    sys.exit(main())
