"""`check-pattern`: which sample stream records would a rule's event pattern select?

Each record of the sample events (by default the repository's examples/events,
shipped in the package) is converted with the handler's own code and wrapped
as EventBridge delivers it; EventBridge itself decides the match, through
TestEventPattern. An endpoint that does not implement TestEventPattern (moto
answers without a result) is asked the other way: a temporary bus with the
pattern as its rule and a queue behind it, removed again afterwards.

Which EventBridge: ``--endpoint-url`` when given; a private moto_server with
``--local``, or when no AWS credentials are found at all (then moto must be
installed: the package's ``local`` extra); AWS otherwise. Credentials that
exist are never passed over silently: with them, the pattern goes to AWS
(TestEventPattern is free and reads nothing of the account).

When no sample matches, the pattern's ``source`` and ``detail-type`` are asked
about on their own, by the same EventBridge; one that matches no sample is
named with what the samples have (``dynamodb.Orders``, not ``dynamodb.orders``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from dynamodb_fanout.arguments import HelpFormatter
from dynamodb_fanout.aws import Aws
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, error_code
from dynamodb_fanout.moto_stack import MotoStartError, moto_installed, moto_server
from fanout import Entry, MalformedRecord, Settings, convert, decode

REPO_SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events"
LOCAL_EXTRA = 'pip install "dynamodb-stream-fanout[local]"'
NEEDS_EVENTBRIDGE = (
    "check-pattern needs EventBridge: pass --endpoint-url/--region (with AWS credentials), "
    f"or install the local extra to use a private moto_server: {LOCAL_EXTRA}"
)


@dataclass
class Sample:
    """One record of a sample file, converted (or why it could not be)."""

    label: str
    entry: Entry | None
    problem: str = ""
    matched: bool = False


def load_pattern(text: str) -> str:
    """The pattern as JSON text: given inline, or read from a file."""
    if not text.lstrip().startswith("{"):
        try:
            text = Path(text).read_text()
        except OSError as exc:
            raise CliError(f"cannot read the pattern file {text!r}: {exc.strerror}") from None
    try:
        pattern = json.loads(text)
    except ValueError as exc:
        raise CliError(f"the pattern is not valid JSON: {exc}") from None
    if not isinstance(pattern, dict) or not pattern:
        raise CliError("the pattern must be a non-empty JSON object")
    return text


def sample_files(paths: list[Path] | None) -> list[tuple[str, str]]:
    """(name, JSON text) of each sample event file."""
    if paths:
        files = []
        for path in paths:
            try:
                files.append((path.name, path.read_text()))
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc.strerror}") from None
        return files
    try:
        bundled = resources.files("dynamodb_fanout.samples")
        found = [(f.name, f.read_text()) for f in bundled.iterdir() if f.name.endswith(".json")]
    except ModuleNotFoundError:  # running from a checkout: the files themselves
        found = [(p.name, p.read_text()) for p in REPO_SAMPLES.glob("*.json")]
    if not found:
        raise CliError("no sample events found: pass --event FILE")
    return sorted(found)


def samples(files: list[tuple[str, str]], settings: Settings) -> list[Sample]:
    out: list[Sample] = []
    for name, text in files:
        try:
            records = json.loads(text)["Records"]
            assert isinstance(records, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise CliError(f"{name} is not a Lambda stream event ({{'Records': [...]}})") from None
        for position, raw in enumerate(records):
            label = f"{name}#{position}"
            try:
                entry = convert(decode(len(out), raw), settings)
            except MalformedRecord as exc:
                out.append(Sample(label, None, f"not converted: {exc}"))
                continue
            out.append(Sample(label, entry))
    return out


def delivered_event(entry: Entry, event_id: str = "") -> str:
    """The event as EventBridge delivers it to a rule, detail spliced in as sent."""
    arn = entry.resources[0] if entry.resources else "arn:aws:dynamodb:::"
    _, _, _, region, account, *_ = [*arn.split(":"), "", "", "", "", ""]
    moment = entry.time or datetime.now(UTC)
    envelope = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account or "123456789012",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region or "us-east-1",
        "resources": list(entry.resources),
    }
    head = json.dumps(envelope, separators=(",", ":"))[:-1]
    return f'{head},"detail":{entry.detail}}}'


def test_event_pattern(events: Any, pattern: str, converted: list[Sample]) -> bool:
    """Ask TestEventPattern for each sample; False if the endpoint gives no result."""
    for sample in converted:
        assert sample.entry is not None
        try:
            answer = events.test_event_pattern(
                EventPattern=pattern, Event=delivered_event(sample.entry)
            )
        except Exception as exc:
            _invalid_pattern(exc)
            raise
        if "Result" not in answer:
            return False
        sample.matched = bool(answer["Result"])
    return True


def _invalid_pattern(exc: Exception) -> None:
    if error_code(exc) in ("InvalidEventPatternException", "ValidationException"):
        message = exc.response["Error"].get("Message", "")  # type: ignore[attr-defined]
        raise CliError(f"EventBridge rejects the pattern: {message}") from None


@contextmanager
def probe_bus(aws: Aws, pattern: str) -> Iterator[tuple[str, str]]:
    """A temporary bus, the pattern as a rule on it and a queue as its target."""
    events, sqs = aws.client("events"), aws.client("sqs")
    name = f"dynamodb-fanout-check-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        try:
            events.put_rule(Name=name, EventBusName=name, EventPattern=pattern)
        except Exception as exc:
            _invalid_pattern(exc)
            raise
        target = {"Id": "probe", "Arn": arn["Attributes"]["QueueArn"]}
        events.put_targets(Rule=name, EventBusName=name, Targets=[target])
        yield name, queue
    finally:
        for cleanup in (
            lambda: events.remove_targets(Rule=name, EventBusName=name, Ids=["probe"]),
            lambda: events.delete_rule(Name=name, EventBusName=name),
            lambda: events.delete_event_bus(Name=name),
            lambda: sqs.delete_queue(QueueUrl=queue),
        ):
            with contextlib.suppress(Exception):  # best effort; the first error is the one to show
                cleanup()


def probe(aws: Aws, pattern: str, converted: list[Sample]) -> None:
    """Send the samples through a temporary bus whose rule is the pattern."""
    with probe_bus(aws, pattern) as (bus, queue):
        events, sqs = aws.client("events"), aws.client("sqs")
        by_id: dict[str, Sample] = {}
        for start in range(0, len(converted), 10):
            chunk = converted[start : start + 10]
            entries = [s.entry.to_api(bus) for s in chunk if s.entry is not None]
            results = events.put_events(Entries=entries)["Entries"]
            for sample, result in zip(chunk, results, strict=True):
                if not result.get("EventId"):
                    sample.problem = f"not accepted: {result.get('ErrorCode')}"
                by_id[result.get("EventId", "")] = sample
        empty = 0
        while empty < 2:
            messages = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            empty = 0 if messages else empty + 1
            for message in messages:
                event_id = json.loads(message["Body"]).get("id", "")
                if event_id in by_id:
                    by_id[event_id].matched = True


@contextmanager
def eventbridge(aws: Aws, local: bool) -> Iterator[tuple[Aws, bool]]:
    """The EventBridge to ask, and whether it is a private moto_server (see the docstring)."""
    why = "--local"
    if not local:
        if aws.endpoint_url or aws.session.get_credentials() is not None:
            if not aws.session.region_name:
                raise CliError(
                    "no AWS region: pass --region, or set AWS_REGION or a region in your "
                    "profile (or --local, for a private moto_server)"
                )
            yield aws, False
            return
        if not moto_installed():
            raise CliError(NEEDS_EVENTBRIDGE)
        why = "no AWS credentials found"
    elif not moto_installed():
        raise CliError(f"--local needs moto: {LOCAL_EXTRA}")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="dynamodb-fanout-") as logs,
            moto_server(Path(logs)) as server,  # stopped by its pid when the block ends
        ):
            print(
                f"{why}: trying the pattern on a private moto_server at {server.endpoint} "
                f"(pid {server.pid}), stopped when done",
                file=sys.stderr,
            )
            yield Aws.local(server.endpoint), True
    except MotoStartError as exc:
        raise CliError(f"could not start a private moto_server: {exc}") from None


def decide(aws: Aws, pattern: str, converted: list[Sample]) -> bool:
    """Mark the samples the pattern matches: True if TestEventPattern decided, False if a
    temporary bus did (the endpoint has no TestEventPattern)."""
    if not converted or test_event_pattern(aws.client("events"), pattern, converted):
        return True
    probe(aws, pattern, converted)
    return False


HINTED = {"source": lambda entry: entry.source, "detail-type": lambda entry: entry.detail_type}


def hints(aws: Aws, pattern: str, converted: list[Sample]) -> list[str]:
    """For a pattern that matches nothing: its source or detail-type that no sample has."""
    fields = json.loads(pattern)
    found = []
    for name, value_of in HINTED.items():
        if name not in fields:
            continue
        firsts: dict[str, Sample] = {}
        for sample in converted:
            assert sample.entry is not None
            firsts.setdefault(value_of(sample.entry), Sample(sample.label, sample.entry))
        alone = list(firsts.values())
        decide(aws, json.dumps({name: fields[name]}), alone)
        if any(sample.matched for sample in alone):
            continue
        wanted = json.dumps(fields[name])
        have = ", ".join(sorted(firsts))
        line = f"the pattern's {name} {wanted} matches no sample: the samples have {have}"
        asked = {str(v).lower() for v in fields[name]} if isinstance(fields[name], list) else set()
        if asked & {value.lower() for value in firsts}:
            line += " (EventBridge matches case-sensitively)"
        if name == "source":
            line += "; --source S converts the samples with your function's EVENT_SOURCE"
        found.append(line)
    return found


def run(aws: Aws, args: argparse.Namespace) -> int:
    pattern = load_pattern(args.pattern)
    settings = Settings(
        event_bus_name="default",
        dlq_url="",
        event_source=args.source,
        detail_format=args.detail_format,
    )
    every = samples(sample_files(args.event), settings)
    converted = [s for s in every if s.entry is not None]
    with eventbridge(aws, args.local) as (asked, private):
        answered = decide(asked, pattern, converted)
        matched = sum(1 for s in every if s.matched)
        notes = hints(asked, pattern, converted) if converted and not matched else []
    method = "TestEventPattern"
    if private:
        method = "a temporary bus on a private moto_server, which has no TestEventPattern"
    elif not answered:
        method = "a temporary bus; the endpoint has no TestEventPattern"
    print(f"pattern {json.dumps(json.loads(pattern), separators=(',', ':'))}")
    for sample in every:
        verdict = "match   " if sample.matched else "no match"
        what = ""
        if sample.entry is not None:
            keys = json.loads(sample.entry.detail).get("keys")
            what = f"{sample.entry.detail_type:<7} keys {json.dumps(keys, separators=(',', ':'))}"
        print(f"  {verdict}  {sample.label:<22} {what}{sample.problem}".rstrip())
    print(f"{matched} of {len(every)} sample records match (decided by {method})")
    for note in notes:
        print(f"  {note}")
    return EXIT_OK if matched else EXIT_INCOMPLETE


HELP = "Say which sample stream records an event pattern matches."


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "check-pattern",
        help=HELP,
        description=HELP,
        epilog="examples:\n"
        "  dynamodb-fanout check-pattern --pattern "
        '\'{"detail-type":["MODIFY"],"detail":{"newImage":{"status":["PAID"]}}}\'\n'
        "  dynamodb-fanout check-pattern --pattern paid.json --event my-batch.json "
        "--detail-format raw\n\n"
        "EventBridge decides: --endpoint-url's; with --local, or when no AWS credentials are "
        f"found, a private moto_server started for the run (needs {LOCAL_EXTRA}); else AWS's "
        "TestEventPattern.\n\n"
        "Exit status: 0 at least one sample matched; 1 none did; 2 could not run.",
        formatter_class=HelpFormatter,
    )
    common(p)
    p.add_argument("--pattern", required=True, help="the event pattern: a JSON file or JSON text")
    p.add_argument(
        "--event",
        action="append",
        type=Path,
        help="a Lambda stream event file (repeatable; default: the bundled examples/events)",
    )
    p.add_argument("--source", help="as EVENT_SOURCE (default dynamodb.<table>)")
    p.add_argument("--detail-format", choices=("plain", "raw", "both"), default="plain")
    p.add_argument(
        "--local",
        action="store_true",
        help="ask a private moto_server (started and stopped for the run), even with AWS "
        "credentials; the default without credentials when moto is installed",
    )
    p.set_defaults(run=run)
