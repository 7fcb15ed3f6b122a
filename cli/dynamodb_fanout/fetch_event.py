"""`fetch-event`: the full event behind a claim-checked pointer event, as a consumer reads it.

A large change reaches consumers as a pointer event (`detail.claimCheck`) whose
S3 object holds the whole event; this prints that event, envelope and full
detail, so an operator can look at what a consumer would process. Any other
event is printed unchanged. Numbers keep every digit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynamodb_fanout.arguments import HelpFormatter
from dynamodb_fanout.errors import EXIT_OK, CliError
from fanout import ClaimCheckError, fetch_full_event, is_pointer, number, to_json

EXPECTED = "an EventBridge event as a target receives it (an object with detail-type and detail)"


def read_event(path: Path | None) -> tuple[str, dict[str, Any]]:
    """The event (its text and its value) from a file, or standard input without one or '-'."""
    try:
        text = sys.stdin.read() if path is None or str(path) == "-" else path.read_text("utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:
        event = json.loads(text, parse_float=number, parse_int=number)
    except ValueError as exc:
        raise CliError(
            f"{path or 'standard input'} is not JSON ({exc}); expected {EXPECTED}"
        ) from None
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise CliError(f"{path or 'standard input'} is not {EXPECTED}")
    return text, event


def run(aws: Any, args: argparse.Namespace) -> int:
    text, event = read_event(args.event)
    if not is_pointer(event):
        print("not a claim-checked pointer event: printed as it is", file=sys.stderr)
        print(text.strip())
        return EXIT_OK
    owner = args.expected_bucket_owner or event.get("account")
    if not (isinstance(owner, str) and re.fullmatch(r"\d{12}", owner)):
        owner = aws.account_id()
    s3 = aws.s3(owner)  # the bucket must be the publisher's: ExpectedBucketOwner on every call
    try:
        full = fetch_full_event(
            event, s3, expected_bucket_owner=owner, parse_float=number, parse_int=number
        )
    except ClaimCheckError as exc:
        raise CliError(str(exc)) from None
    print(to_json(full))
    return EXIT_OK


HELP = "Print the full event behind a claim-checked pointer event."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "fetch-event",
        help=HELP,
        description=HELP,
        epilog="examples:\n"
        "  dynamodb-fanout fetch-event pointer.json | jq .detail.newImage\n"
        "  aws sqs receive-message --queue-url \"$CONSUMER_URL\" --query 'Messages[0].Body' "
        "--output text | dynamodb-fanout fetch-event -\n\n"
        "Exit status: 0 printed; 2 could not (a missing, empty, corrupt, non-UTF-8 or "
        "mismatched object, or a malformed pointer: one line on stderr).",
        formatter_class=HelpFormatter,
    )
    common(p)
    p.add_argument(
        "--expected-bucket-owner",
        metavar="ACCOUNT",
        help="the account that must own the bucket (default: the event's account)",
    )
    p.add_argument(
        "event",
        nargs="?",
        type=Path,
        help="the delivered event as JSON, a file or - for standard input (the default)",
    )
    p.set_defaults(run=run)
