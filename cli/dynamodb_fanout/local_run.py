"""`local-run`: play Lambda's event source mapping for a deployed fan-out function, here.

moto cannot run Lambda code, and while an event source mapping exists on a
table it tries to invoke it on every write and drops the stream records. A
root tested on moto therefore deploys the function without a mapping
(``create_event_source_mapping = false``), and this command does the
mapping's work:

- **the function** is read back from the Lambda API
  (lambda:GetFunctionConfiguration): its handler must be the fan-out's, and
  its environment becomes the handler's settings, exactly as deployed;
- **the stream** is ``--stream-arn``, else the latest stream of the table the
  module names in the function's description; a mapping on it (the
  function's own, or another's) stops the run with a line (exit 2): moto
  would have swallowed the records, and on AWS the mapping already runs the
  function;
- **the poller** (``stream_poller``) reads every shard, parents before
  children, in batches of ``--batch-size``, and answers ``batchItemFailures``
  as Lambda does: redelivery from the lowest reported sequence number, up to
  the function's ``MAXIMUM_RETRY_ATTEMPTS`` times, then the batch is given up;
- **the handler** is the installed ``fanout`` package's, called in-process
  through its public ``invoke`` with the function's settings and a context
  whose clock runs down from the function's timeout; its counts (published,
  parked, reported) are summed for the run's report, and ``--function-log``
  gets the same metrics line the function writes for CloudWatch in Lambda;
- **the checkpoint** (a 0600 JSON file, per stream and shard) is saved after
  every invocation, so a rerun goes on where the last one stopped and
  publishes nothing twice; deleting it starts over.

``LocalRun`` is the part ``make demo`` and the end-to-end test drive too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dynamodb_fanout import __version__
from dynamodb_fanout.arguments import EXIT_STATUS, HelpFormatter
from dynamodb_fanout.aws import Aws, region_of_arn, runtime_for
from dynamodb_fanout.backfill import write_private
from dynamodb_fanout.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    error_code,
)
from dynamodb_fanout.function_settings import Function, Resolved, resolve
from dynamodb_fanout.progress import Progress
from dynamodb_fanout.provenance import StreamRef
from dynamodb_fanout.report import add_output_options, emit
from dynamodb_fanout.stream_poller import PollerStats, StreamPoller
from fanout import Counts, Runtime, emf_line, invoke

HANDLER = "fanout.handler.lambda_handler"  # the module's handler string
# The module's description of the function names its table (main.tf).
DESCRIPTION = re.compile(r"Fans out changes of DynamoDB table (?P<table>[A-Za-z0-9_.-]{3,255}) to ")
DEFAULT_BATCH_SIZE = 1000  # the module's batch_size default
MAX_BATCH_SIZE = 10000  # Lambda's for DynamoDB streams
DEFAULT_RETRIES = 10  # the module's maximum_retry_attempts default
RETRY_DELAY_S = 0.5  # between redeliveries of a batch the handler reported back
IDLE_POLLS = 3  # --once: empty passes over every shard before the stream counts as read
FOLLOW_POLL_S = 1.0  # --follow: the wait between passes while the stream is quiet
MAPPING = (
    "the table's stream has an event source mapping ({mapping}): moto delivers records to it "
    "and drops them, set create_event_source_mapping = false for a local run (on AWS the mapping "
    "already runs the function, and a local run would publish every change a second time)"
)


def batch_size(text: str) -> int:
    """A mapping's batch size for DynamoDB streams: 1 to 10,000."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} is not a batch size (1 to {MAX_BATCH_SIZE})")
    return value


class LocalContext:
    """The parts of Lambda's context object the handler uses; the clock runs down."""

    def __init__(
        self, function_name: str, timeout_s: float, memory_mb: int = 128, arn: str = ""
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = arn
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --- what to run: the function and its stream ------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The deployed function, its settings and the stream it fans out."""

    resolved: Resolved
    stream_arn: str
    stream_origin: str  # for the summary: where the stream came from

    @property
    def function(self) -> Function:
        assert self.resolved.function is not None
        return self.resolved.function

    @property
    def maximum_retry_attempts(self) -> int:
        """The mapping's retries, as the module gives the function (MAXIMUM_RETRY_ATTEMPTS)."""
        retries = self.resolved.settings.maximum_retry_attempts
        return DEFAULT_RETRIES if retries is None else retries

    def context(self) -> LocalContext:
        """A fresh context per invocation, like Lambda gives."""
        f = self.function
        return LocalContext(f.name, f.timeout_s, f.memory_mb, f.arn)


def locate(aws: Aws, function_name: str, stream_arn: str | None = None) -> Target:
    """The function (its handler must be the fan-out's), its settings and its stream.

    CliError when the function is not a fan-out, the stream cannot be found,
    or an event source mapping reads the stream.
    """
    resolved = resolve(aws, argparse.Namespace(function=function_name), need_bus=False)
    function = resolved.function
    assert function is not None
    if function.handler != HANDLER:
        raise CliError(
            f"function {function.name}'s handler is {function.handler!r}, not the fan-out's "
            f"{HANDLER}: local-run runs only the fan-out handler"
        )
    stream, origin = _stream(aws, function, stream_arn)
    _refuse_mappings(aws, function, stream)
    return Target(resolved, stream, origin)


def _stream(aws: Aws, function: Function, explicit: str | None) -> tuple[str, str]:
    named = DESCRIPTION.match(function.description)
    table = named["table"] if named else None
    region = region_of_arn(function.arn)
    if explicit:
        ref = StreamRef.parse(explicit)
        if ref is None:
            raise CliError(
                f"--stream-arn {explicit!r} is neither a DynamoDB stream ARN nor a table ARN"
            )
        if table is not None and ref.table_name != table:
            raise CliError(
                f"--stream-arn names table {ref.table_name}; function {function.name} fans out "
                f"table {table} (its description)"
            )
        if ref.label is None:
            return latest_stream(aws, ref.table_arn, ref.region), f"the latest of {ref.table_arn}"
        return str(ref), "--stream-arn"
    if function.mappings:
        return function.mappings[0].stream_arn, f"function {function.name}'s event source mapping"
    if table is None:
        raise CliError(
            f"which stream? function {function.name} has no event source mapping and its "
            "description does not name its table (the module's does): pass --stream-arn "
            "(the stream's ARN, or the table's for its latest stream)"
        )
    stream = latest_stream(aws, table, region)
    return stream, f"table {table}, named in function {function.name}'s description"


def latest_stream(aws: Aws, table: str, region: str | None) -> str:
    """The table's current stream (DescribeTable by name or ARN); CliError if it has none."""
    try:
        described = aws.client("dynamodb", region).describe_table(TableName=table)["Table"]
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(f"table {table} does not exist in {aws.region_for(region)}") from None
        raise
    stream = described.get("LatestStreamArn")
    if not stream or not described.get("StreamSpecification", {}).get("StreamEnabled", True):
        raise CliError(
            f"table {described.get('TableName', table)} has no stream: enable it "
            "(stream_enabled = true, stream_view_type = NEW_AND_OLD_IMAGES)"
        )
    return str(stream)


def _refuse_mappings(aws: Aws, function: Function, stream: str) -> None:
    """An event source mapping of the function, or any on the stream, stops the run."""
    if function.mappings:
        mine = function.mappings[0]
        raise CliError(
            MAPPING.format(
                mapping=f"{mine.uuid}, function {function.name}, {mine.state or 'state unknown'}"
            )
        )
    answer = aws.client("lambda", region_of_arn(stream)).list_event_source_mappings(
        EventSourceArn=stream
    )
    for mapping in answer.get("EventSourceMappings") or []:
        owner = str(mapping.get("FunctionArn") or "").rsplit(":", 1)[-1]
        state = mapping.get("State") or "state unknown"
        raise CliError(MAPPING.format(mapping=f"{mapping.get('UUID')}, function {owner}, {state}"))


# --- where it stopped: the checkpoint ----------------------------------------------------------


@dataclass
class Checkpoint:
    """Per stream, per shard, the newest sequence number handled; saved after every invocation.

    ``path`` None keeps it in memory (the demo and the tests).
    """

    path: Path | None
    function_arn: str
    streams: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path | None, function_arn: str) -> Checkpoint:
        if path is None or not path.exists():
            return cls(path, function_arn)
        try:
            saved = json.loads(path.read_text())
            owner = str(saved["function"])
            streams = {
                str(stream): {str(shard): str(seq) for shard, seq in shards.items()}
                for stream, shards in saved["streams"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CliError(f"checkpoint {path} is not a local-run checkpoint: {exc}") from None
        if owner != function_arn:
            raise CliError(
                f"checkpoint {path} is function {owner}'s: delete it, or pass another --checkpoint"
            )
        return cls(path, function_arn, streams)

    def positions(self, stream_arn: str) -> dict[str, str]:
        return dict(self.streams.get(stream_arn, {}))

    def save(self, stream_arn: str, positions: dict[str, str]) -> None:
        if positions == self.streams.get(stream_arn):
            return
        self.streams[stream_arn] = dict(positions)
        if self.path is not None:
            document = {"function": self.function_arn, "streams": self.streams}
            write_private(self.path, json.dumps(document, indent=1) + "\n")


# --- the run -----------------------------------------------------------------------------------


@dataclass
class HandlerCounts:
    """What the handler did, summed over its invocations (its metrics lines' counts)."""

    published: int = 0
    claim_checked: int = 0
    parked: Counter[str] = field(default_factory=Counter)
    reported: int = 0

    def add(self, counts: Counts) -> None:
        self.published += counts.published
        self.claim_checked += counts.claim_checked
        self.parked.update(counts.dead_lettered)
        self.reported += counts.reported


Batch = list[dict[str, Any]]


class LocalRun:
    """The function's stream, fed to the installed handler the way a mapping feeds Lambda."""

    def __init__(
        self,
        aws: Aws,
        target: Target,
        checkpoint: Checkpoint,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        function_log: TextIO | None = None,
        before_invoke: Callable[[Batch], None] | None = None,
        after_invoke: Callable[[PollerStats], None] | None = None,
        retry_delay_s: float = RETRY_DELAY_S,
    ) -> None:
        self.target = target
        self.checkpoint = checkpoint
        self.function_log = function_log
        self.before_invoke = before_invoke
        self.after_invoke = after_invoke
        self.counts = HandlerCounts()
        self.resumed = checkpoint.positions(target.stream_arn)
        self.runtime: Runtime = runtime_for(aws, target.resolved.settings, target.function.account)
        self.poller = StreamPoller(
            aws.client("dynamodbstreams", region_of_arn(target.stream_arn)),
            target.stream_arn,
            self._invoke,
            context_factory=target.context,
            batch_size=batch_size,
            maximum_retry_attempts=target.maximum_retry_attempts,
            retry_delay_s=retry_delay_s,
            on_invoke=self._invoked,
            checkpoints=self.resumed,
        )

    @property
    def stats(self) -> PollerStats:
        return self.poller.stats

    def _invoke(self, event: dict[str, Any], context: Any) -> Any:
        if self.before_invoke:
            self.before_invoke(event["Records"])
        done = invoke(event, context, self.runtime)
        self.counts.add(done.counts)
        if self.function_log is not None:  # the metrics line, as Lambda logs it
            line = emf_line(done.counts, self.target.function.name, done.duration_ms)
            self.function_log.write(line + "\n")
            self.function_log.flush()
        return done.response

    def _invoked(self, stats: PollerStats) -> None:
        self.checkpoint.save(self.target.stream_arn, self.poller.checkpoints)
        if self.after_invoke:
            self.after_invoke(stats)

    @contextlib.contextmanager
    def _function_logging(self) -> Iterator[None]:
        """The handler's log records go where its metrics lines go (or nowhere), at its level."""
        logger = logging.getLogger("fanout")
        saved = (logger.level, logger.propagate, list(logger.handlers))
        handler: logging.Handler = logging.NullHandler()
        if self.function_log is not None:
            handler = logging.StreamHandler(self.function_log)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(self.target.resolved.settings.log_level)
        try:
            yield
        finally:
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
            logger.handlers = saved[2]

    def drain(self, stop: threading.Event | None = None, timeout_s: float | None = None) -> bool:
        """Read the stream until it is quiet (``--once``); False if ``stop`` came first."""
        with self._function_logging():
            return self.poller.drain(IDLE_POLLS, timeout_s, poll_interval_s=0.1, stop=stop)

    def follow(self, stop: threading.Event) -> None:
        """Keep reading, as a mapping does, until ``stop`` is set (``--follow``)."""
        with self._function_logging():
            self.poller.follow(stop, FOLLOW_POLL_S)


# --- the command -------------------------------------------------------------------------------


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM: finish the batch in hand, save, stop; a second one stops at once."""

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the batch in hand (again to stop at once)", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)


def run(aws: Aws, args: argparse.Namespace) -> int:
    target = locate(aws, args.function, args.stream_arn)
    path = args.checkpoint or Path(f"local-run.{target.function.name}.json")
    checkpoint = Checkpoint.open(path, target.function.arn)
    progress = Progress("local-run", None, enabled=not args.quiet)
    log = path_log(args.function_log)
    with log as function_log:
        local = LocalRun(
            aws,
            target,
            checkpoint,
            batch_size=args.batch_size,
            function_log=function_log,
            after_invoke=lambda stats: progress.add(
                stats.acknowledged + stats.discarded - progress.done
            ),
        )
        stop = threading.Event()
        progress.start()
        with stop_on_signals(stop):
            try:
                if args.follow:
                    local.follow(stop)
                    drained = True
                else:
                    drained = local.drain(stop)
            finally:
                progress.finish()
    return report(args, local, path, drained)


def path_log(path: Path | None) -> contextlib.AbstractContextManager[TextIO | None]:
    if path is None:
        return contextlib.nullcontext()
    return path.open("a", encoding="utf-8")


def report(args: argparse.Namespace, local: LocalRun, path: Path, drained: bool) -> int:
    target, stats, counts = local.target, local.stats, local.counts
    given_up = stats.discarded
    status = EXIT_INCOMPLETE if given_up else EXIT_OK
    if not drained:
        status = EXIT_INTERRUPTED
    parked = sum(counts.parked.values())
    by_reason = ", ".join(f"{r} {n}" for r, n in sorted(counts.parked.items()))
    retries = target.maximum_retry_attempts
    lines = [
        target.resolved.describe(),
        f"records of: {target.stream_arn} ({target.stream_origin})",
        f"bus: {target.resolved.settings.event_bus_name}",
        f"handler: {HANDLER} of the installed package (dynamodb-stream-fanout {__version__}), "
        "in-process with the function's settings",
        f"checkpoint: {path} (delete it to read the stream from the start)",
        f"read {_n(stats.read, 'record')} from {_n(stats.shards, 'shard')} in "
        f"{_n(stats.invocations, 'invocation')} (batch size {local.poller.batch_size})",
        f"published {counts.published}",
    ]
    if counts.claim_checked:
        lines.append(f"  of which claim-checked: {counts.claim_checked}")
    lines.append(f"parked {parked}" + (f" ({by_reason})" if by_reason else ""))
    lines.append(f"reported back {counts.reported}")
    if stats.redelivered:
        lines.append(
            f"  redelivered {_n(stats.redelivered, 'record')} from the lowest reported sequence "
            f"number ({_n(stats.partial_failures, 'partial batch response')})"
        )
    if stats.handler_errors:
        lines.append(f"  handler errors {stats.handler_errors} (last: {stats.last_error})")
    if given_up:
        lines.append(
            f"given up {_n(given_up, 'record')} in {_n(len(stats.on_failure), 'batch')} after "
            f"{_n(retries, 'retry')}, as Lambda would (it sends the metadata to the on-failure "
            "destination)"
        )
        lines += [f"  given up: {_batch(b)}" for b in stats.on_failure]
    notes = [
        f"shard {shard} read from its oldest record: {why}"
        for shard, why in stats.restarted.items()
    ]
    if stats.read == 0 and not given_up:
        notes.append(_nothing_read(local))
    lines += [f"noted: {note}" for note in notes]
    if not drained:
        print(
            f"interrupted; run again to go on from the checkpoint {path}",
            file=sys.stderr,
        )
    document = {
        "command": "local-run",
        "settings": target.resolved.describe().removeprefix("settings: "),
        "function": target.function.arn,
        "stream": target.stream_arn,
        "stream_origin": target.stream_origin,
        "bus": target.resolved.settings.event_bus_name,
        "handler": HANDLER,
        "version": __version__,
        "checkpoint": str(path),
        "shards": stats.shards,
        "batch_size": local.poller.batch_size,
        "maximum_retry_attempts": retries,
        "read": stats.read,
        "invocations": stats.invocations,
        "published": counts.published,
        "claim_checked": counts.claim_checked,
        "parked": {"total": parked, "by_reason": dict(sorted(counts.parked.items()))},
        "reported_back": counts.reported,
        "redelivered": stats.redelivered,
        "handler_errors": stats.handler_errors,
        "given_up": {"records": given_up, "batches": stats.on_failure},
        "notes": notes,
        "drained": drained,
        "exit_status": status,
    }
    emit(args, document, lines)
    return status


def _n(count: int, noun: str) -> str:
    """'1 record', '2 records', '3 batches', '2 retries'."""
    if count == 1:
        return f"1 {noun}"
    plural = (
        noun[:-1] + "ies" if noun.endswith("y") else noun + ("es" if noun.endswith("h") else "s")
    )
    return f"{count} {plural}"


def _batch(on_failure: dict[str, Any]) -> str:
    info = on_failure["DDBStreamBatchInfo"]
    return (
        f"{info['shardId']} {info['startSequenceNumber']}..{info['endSequenceNumber']} "
        f"({_n(info['batchSize'], 'record')})"
    )


def _nothing_read(local: LocalRun) -> str:
    if local.resumed:
        return (
            "nothing new since the checkpoint: an earlier run handled every record up to it "
            f"(written since? {SWALLOWED})"
        )
    return f"the stream has no records: write to the table, then run again ({SWALLOWED})"


# moto keeps a mapping's hold on the table after the mapping is deleted.
SWALLOWED = (
    "on moto, a table that ever had an event source mapping loses its records to it, even "
    "after the mapping is deleted: create the table again without one"
)


HELP = "Play Lambda's event source mapping here: the function's stream through its handler."
EXAMPLES = """examples:
  dynamodb-fanout local-run --function Orders-fanout --endpoint-url http://127.0.0.1:5000
  dynamodb-fanout local-run --function Orders-fanout --follow --function-log fanout.log
  dynamodb-fanout local-run --function Orders-fanout --stream-arn "$STREAM_ARN" --json"""


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "local-run",
        help=HELP,
        description=HELP
        + " For a root on moto (create_event_source_mapping = false): the stream is read the "
        "way Lambda's poller reads it and the installed fan-out handler runs in-process with "
        "the deployed function's settings; a checkpoint file keeps a rerun from publishing "
        "anything twice.",
        epilog=f"{EXAMPLES}\n\n{EXIT_STATUS} Exit 1: records given up after the retries.",
        formatter_class=HelpFormatter,
    )
    common(p)
    p.add_argument(
        "--function", required=True, help="the fan-out function's name or ARN (its settings)"
    )
    p.add_argument(
        "--stream-arn",
        help="the stream to read (a table ARN: its latest stream); default: the stream of the "
        "table named in the function's description",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        action="store_true",
        help="read until the stream is quiet, then stop (the default)",
    )
    mode.add_argument(
        "--follow", action="store_true", help="keep reading until Ctrl-C, as a mapping does"
    )
    p.add_argument(
        "--batch-size",
        type=batch_size,
        default=DEFAULT_BATCH_SIZE,
        help=f"records per invocation, as the mapping's batch_size (default {DEFAULT_BATCH_SIZE}, "
        "the module's)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        help="where the run keeps its position, per shard (mode 0600; default "
        "local-run.<function>.json here); delete it to start over",
    )
    p.add_argument(
        "--function-log",
        type=Path,
        help="append what the function logs (its metrics line per invocation, its log records)",
    )
    add_output_options(p)
    p.set_defaults(run=run)
