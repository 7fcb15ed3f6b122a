"""`replay`: run the stream batches Lambda gave up on through the handler's code again.

When the function keeps failing on a batch, Lambda gives up on it and tells
the mapping's on-failure destination. Two kinds of destination keep it:

- an SQS queue (or a topic feeding one): the batch's coordinates only (stream,
  shard, first and last sequence number). Within the stream's 24 h retention
  the records are read back from the stream;
- an S3 bucket (since November 2024): the same document plus ``payload``,
  the invocation's records themselves, as an escaped JSON string. They are
  replayed from there, however old, for as long as the bucket keeps them.

Each batch is an input, not an authority: it must be the function's
(``requestContext.functionArn``, when the function is known) and of its
stream (``DDBStreamBatchInfo.streamArn``, see ``provenance``); every record
of an S3 payload must be of that stream and inside the batch's range.
Anything else is left with a line.

The pass reads every batch first and replays them in stream order (per
table and stream, by first sequence number) with the handler's own
``process`` and the function's settings: each record is published,
claim-checked or parked exactly as the function would. On an event-busv2
bus, a batch with records the handler reported back holds back the later
batches of its stream in this pass, so no item's later change goes ahead of
an earlier one. A batch is done only when every record was published or
parked: its SQS message is then deleted; an S3 object is kept (the bucket's
lifecycle decides how long) and a small marker object
``dynamodb-fanout/replayed/<its key>`` is written next to it, which later
passes skip. Nothing else is ever deleted from the bucket.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynamodb_fanout.arguments import EXIT_STATUS, HelpFormatter, positive
from dynamodb_fanout.aws import (
    Aws,
    queue_url,
    region_of_arn,
    region_of_queue,
    require_bus,
    runtime_for,
)
from dynamodb_fanout.errors import EXIT_INCOMPLETE, EXIT_OK, CliError, describe, error_code
from dynamodb_fanout.function_settings import Resolved, add_options, resolve
from dynamodb_fanout.progress import Progress
from dynamodb_fanout.provenance import Scope, StreamRef, add_scope_option, resolve_scope
from dynamodb_fanout.queue import PASS_HOLD_S, Queue
from dynamodb_fanout.report import Notes, add_output_options, emit
from dynamodb_fanout.stream_reader import Unreachable, read_range, sequence, shard_ids
from fanout import Runtime, process

LAMBDA_PREFIX = "aws/lambda/"  # where Lambda writes on-failure objects: aws/lambda/<ESM UUID>/…
MARKER_PREFIX = "dynamodb-fanout/replayed/"  # a replayed object's marker: this + its key
MAX_OBJECT_BYTES = 64 * 1024 * 1024  # an invocation payload is at most 6 MB; far more is not one


@dataclass
class Batch:
    """The coordinates of one failed batch, from an on-failure document."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int | None
    function_arn: Any

    @classmethod
    def parse(cls, document: Any) -> Batch | None:
        try:
            info = document["DDBStreamBatchInfo"]
            context = document.get("requestContext")
            batch = cls(
                str(info["streamArn"]),
                str(info["shardId"]),
                str(info["startSequenceNumber"]),
                str(info["endSequenceNumber"]),
                int(info["batchSize"]) if "batchSize" in info else None,
                context.get("functionArn") if isinstance(context, dict) else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if not (batch.start.isdigit() and batch.end.isdigit()):
            return None
        return batch

    def where(self) -> str:
        return f"{self.shard_id} {self.start}..{self.end}"


@dataclass
class Failed:
    """One failed batch and where it is kept: an SQS message or an S3 object."""

    batch: Batch
    name: str  # the message id, or s3://bucket/key
    message: dict[str, Any] | None = None
    key: str | None = None
    document: dict[str, Any] | None = None  # an S3 object's, with the records in its payload
    records: list[Any] | None = None  # the payload's, once checked; None: read from the stream

    @property
    def order(self) -> tuple[str, str, int]:
        found = StreamRef.parse(self.batch.stream_arn)
        table = (found.table_arn, found.label or "") if found else ("", "")
        return (*table, int(self.batch.start))


@dataclass
class Summary:
    replayed: int = 0  # batches replayed completely
    records: int = 0  # records published or parked (would be, with --dry-run)
    reported_back: int = 0  # records the handler neither published nor parked
    skipped: int = 0  # S3 objects a marker says were replayed already
    done_failed: int = 0  # replayed, but its message not deleted or its marker not written
    release_failed: int = 0  # messages not made visible again at the end of the pass
    notes: Notes = field(default_factory=Notes)

    @property
    def left(self) -> int:
        return self.notes.count("left")

    @property
    def complete(self) -> bool:
        return not (self.reported_back or self.left or self.done_failed or self.release_failed)


def read_back(streams: Any, batch: Batch, shards: set[str]) -> tuple[list[dict[str, Any]], str]:
    """The batch's records as Lambda delivered them, and what could not be reached ('' if none)."""
    if batch.shard_id not in shards:
        return [], f"shard {batch.shard_id} is no longer in the stream (24 h retention)"
    try:
        records = read_range(streams, batch.stream_arn, batch.shard_id, batch.start, batch.end)
    except Unreachable as exc:
        return [], str(exc)
    last = sequence(records[-1]) if records else None
    if last != int(batch.end) or (batch.size is not None and len(records) < batch.size):
        wanted = batch.size if batch.size is not None else "?"
        return records, f"read {len(records)} of {wanted} records; the rest is gone from the stream"
    return records, ""


def payload_records(document: dict[str, Any], batch: Batch) -> list[Any]:
    """The records of an S3 on-failure document's ``payload``, checked; ValueError if not."""
    payload = document.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except (ValueError, RecursionError):
            raise ValueError("payload is not JSON") from None
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not records:
        raise ValueError("payload holds no Records")
    first, last = int(batch.start), int(batch.end)
    for record in records:
        source = record.get("eventSourceARN") if isinstance(record, dict) else None
        if source != batch.stream_arn:
            raise ValueError(f"a payload record of another stream: {str(source)[:160]!r}")
        ddb = record.get("dynamodb")
        number = ddb.get("SequenceNumber") if isinstance(ddb, dict) else None
        if not (isinstance(number, str) and number.isdigit() and first <= int(number) <= last):
            raise ValueError(f"a payload record outside {batch.start}..{batch.end}: {number!r}")
    if batch.size is not None and len(records) != batch.size:
        raise ValueError(f"payload holds {len(records)} records, the batch {batch.size}")
    return records


class QueueSource:
    """Failed batches from an SQS on-failure destination."""

    def __init__(self, aws: Aws, url: str) -> None:
        self.queue = Queue(aws.client("sqs", region_of_queue(url)), url, hold_s=PASS_HOLD_S)
        self.what = url

    def check(self) -> int:
        return self.queue.depth()

    def collect(self, limit: int | None, leave: Callable[[str, str, str], None]) -> list[Failed]:
        found: list[Failed] = []
        seen = 0
        while limit is None or seen < limit:
            messages = self.queue.receive(10 if limit is None else limit - seen)
            if messages is None:
                break
            for message in messages:
                seen += 1
                body = message.get("Body", "")
                try:
                    batch = Batch.parse(json.loads(body))
                except ValueError:
                    batch = None
                if batch is None:
                    leave(message["MessageId"], "not an on-failure record", repr(body)[:80])
                    continue
                found.append(Failed(batch, message["MessageId"], message=message))
        return found

    def done(self, failed: Failed) -> str:
        assert failed.message is not None
        problems = self.queue.delete([failed.message])
        return problems[0][1] if problems else ""


class BucketSource:
    """Failed batches from an S3 on-failure destination: each object a batch with its records."""

    def __init__(self, aws: Aws, owner: str, bucket: str, prefixes: list[str]) -> None:
        self.s3 = aws.s3(owner)
        self.bucket = bucket
        self.prefixes = prefixes
        self.what = ", ".join(f"s3://{bucket}/{p}" for p in prefixes)
        self.skipped = 0

    def check(self) -> int:
        self.s3.head_bucket(Bucket=self.bucket)  # a bucket that is gone or not ours: exit 2
        return 0

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        page: dict[str, str] = {}
        while True:
            answer = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **page)
            keys += [str(o["Key"]) for o in answer.get("Contents") or []]
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                return keys
            page = {"ContinuationToken": token}

    def collect(self, limit: int | None, leave: Callable[[str, str, str], None]) -> list[Failed]:
        found: list[Failed] = []
        for prefix in self.prefixes:
            replayed = {k[len(MARKER_PREFIX) :] for k in self._keys(MARKER_PREFIX + prefix)}
            for key in self._keys(prefix):
                if key.startswith(MARKER_PREFIX) or key.endswith("/"):
                    continue
                if key in replayed:
                    self.skipped += 1
                    continue
                if limit is not None and len(found) >= limit:
                    return found
                name = f"s3://{self.bucket}/{key}"
                try:
                    failed = self._read(key, name)
                except ValueError as exc:
                    leave(name, "not an on-failure object", str(exc)[:160])
                    continue
                except Exception as exc:
                    leave(name, "could not be read", describe(exc) or repr(exc)[:160])
                    continue
                found.append(failed)
        return found

    def _read(self, key: str, name: str) -> Failed:
        answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        if int(answer.get("ContentLength") or 0) > MAX_OBJECT_BYTES:
            raise ValueError(f"{answer['ContentLength']} bytes: larger than any invocation")
        data = answer["Body"].read()
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ValueError("not JSON") from None
        batch = Batch.parse(document) if isinstance(document, dict) else None
        if batch is None:
            raise ValueError("no DDBStreamBatchInfo")
        return Failed(batch, name, key=key, document=document)

    def done(self, failed: Failed, records: int, function: str | None) -> str:
        assert failed.key is not None
        marker = {
            "replayed": datetime.now(UTC).isoformat(timespec="seconds"),
            "object": failed.name,
            "records": records,
            "function": function,
        }
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=MARKER_PREFIX + failed.key,
                Body=json.dumps(marker).encode(),
                ContentType="application/json",
            )
        except Exception as exc:
            return describe(exc) or f"{type(exc).__name__}: {exc}"
        return ""


class Replay:
    """One pass over an on-failure destination."""

    def __init__(
        self,
        aws: Aws,
        args: argparse.Namespace,
        resolved: Resolved,
        scope: Scope,
        source: QueueSource | BucketSource,
    ) -> None:
        self.aws = aws
        self.args = args
        self.resolved = resolved
        self.settings = resolved.settings
        self.scope = scope
        self.source = source
        self.summary = Summary()
        self.shards: dict[str, set[str]] = {}
        self.held: set[str] = set()  # streams whose later batches are held back (ordered bus)

    def leave(self, name: str, why: str, detail: str = "") -> None:
        self.summary.notes.add("left", why, f"{name} {detail}".strip())

    def run(self) -> Summary:
        depth = self.source.check()
        require_bus(self.aws, self.settings)
        dlq = self.settings.dlq_url
        Queue(self.aws.client("sqs", region_of_queue(dlq)), dlq).depth()
        owner = self.resolved.function.account if self.resolved.function else None
        runtime = runtime_for(self.aws, self.settings, owner)
        progress = Progress("replay", depth or None, enabled=not self.args.quiet)
        progress.start()
        try:
            if isinstance(self.source, QueueSource):
                with self.source.queue.pass_():
                    self._pass(runtime, progress)
            else:
                self._pass(runtime, progress)
        finally:
            progress.finish()
            if isinstance(self.source, QueueSource):
                self.summary.release_failed = self.source.queue.counts.release_failed
            else:
                self.summary.skipped = self.source.skipped
        return self.summary

    def _pass(self, runtime: Runtime, progress: Progress) -> None:
        batches = self.source.collect(self.args.limit, self.leave)
        mine = [failed for failed in batches if self.judge(failed)]
        progress.add(len(batches) - len(mine))  # left: not the function's
        for failed in sorted(mine, key=lambda f: f.order):
            try:
                self.one(runtime, failed)
            except Exception as exc:  # one batch's trouble stays its own
                why = describe(exc) or f"{type(exc).__name__}: {exc}"
                self.leave(failed.name, "could not replay", why[:240])
            progress.add(1)

    def judge(self, failed: Failed) -> bool:
        """Whether a batch is the function's; if it is not, it is left with a line."""
        batch = failed.batch
        problem = self.scope.batch_problem(batch.function_arn, batch.stream_arn)
        if problem is not None:
            self.leave(failed.name, problem, batch.where())
            return False
        if failed.document is not None:  # an S3 object: its payload, checked against the batch
            try:
                failed.records = payload_records(failed.document, batch)
            except ValueError as exc:
                self.leave(failed.name, "payload does not match its batch", str(exc))
                return False
        return True

    def one(self, runtime: Runtime, failed: Failed) -> None:
        batch = failed.batch
        where = batch.where()
        if self.settings.ordered and batch.stream_arn in self.held:
            self.leave(
                failed.name,
                "held back behind an earlier batch of its stream that was not replayed "
                "completely (event-busv2: per-item order)",
                where,
            )
            return
        records, problem = self._records(failed)
        if not records:
            self.leave(failed.name, "could not reach", f"{where}: {problem or 'no records'}")
            return
        if self.args.dry_run:
            self.summary.records += len(records)
            if problem:
                self.leave(failed.name, "partly reachable", f"{where}: {problem}")
            return
        with redirect_stdout(io.StringIO()):  # the handler's metrics line is for CloudWatch
            response = process({"Records": records}, None, runtime)
        reported = len(response["batchItemFailures"])
        self.summary.records += len(records) - reported
        if reported:
            self.summary.reported_back += reported
            self.held.add(batch.stream_arn)
            self.leave(
                failed.name,
                "the handler reported records back (from the first neither published nor parked)",
                f"{where}: {reported}",
            )
            return
        if problem:
            self.leave(failed.name, "partly reachable", f"{where}: {problem}")
            return
        if isinstance(self.source, QueueSource):
            not_done, kind = self.source.done(failed), "replayed, but not deleted"
        else:
            function = self.scope.function_arn
            not_done = self.source.done(failed, len(records), function)
            kind = "replayed, but its marker not written"
        if not_done:
            self.summary.done_failed += 1
            self.summary.notes.add(kind, not_done, failed.name)
            return
        self.summary.replayed += 1

    def _records(self, failed: Failed) -> tuple[list[Any], str]:
        if failed.records is not None:
            return failed.records, ""
        batch = failed.batch
        streams = self.aws.client("dynamodbstreams", region_of_arn(batch.stream_arn))
        try:
            shards = self.shards.get(batch.stream_arn) or shard_ids(streams, batch.stream_arn)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return [], "the stream no longer exists"
        self.shards[batch.stream_arn] = shards
        return read_back(streams, batch, shards)


HELP = "Replay the stream batches Lambda gave up on (its on-failure destination)."
EXAMPLES = """examples:
  dynamodb-fanout replay --on-failure-queue "$ON_FAILURE_URL" --function orders-fanout --dry-run
  dynamodb-fanout replay --on-failure-queue "$ON_FAILURE_URL" --function orders-fanout
  dynamodb-fanout replay --on-failure-bucket s3://orders-failed-batches/aws/lambda/ \\
      --function orders-fanout --json"""


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "replay",
        help=HELP,
        description=HELP,
        epilog=f"{EXAMPLES}\n\n{EXIT_STATUS}",
        formatter_class=HelpFormatter,
    )
    common(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--on-failure-queue", help="SQS on-failure destination URL")
    where.add_argument(
        "--on-failure-bucket",
        help="S3 on-failure destination: a bucket name or s3://bucket/prefix",
    )
    p.add_argument(
        "--prefix",
        help=f"with --on-failure-bucket: the objects' key prefix (default {LAMBDA_PREFIX}<the "
        f"function's mapping UUID>/ with --function, else {LAMBDA_PREFIX})",
    )
    p.add_argument("--dry-run", action="store_true", help="read and check; publish nothing")
    p.add_argument("--limit", type=positive, help="look at no more than N messages or objects")
    add_output_options(p)
    add_scope_option(p)
    add_options(p, "bus name or ARN (as EVENT_BUS_NAME)", dlq=True)
    p.set_defaults(run=run)


def bucket_and_prefixes(args: argparse.Namespace, scope: Scope) -> tuple[str, list[str]]:
    """The bucket and the key prefixes to list, from --on-failure-bucket and --prefix."""
    text = args.on_failure_bucket
    bucket, prefix = text, args.prefix
    if text.startswith("s3://"):
        bucket, _, in_uri = text[len("s3://") :].partition("/")
        if in_uri and prefix is not None:
            raise CliError("give the prefix once: in the s3:// URI or with --prefix")
        prefix = in_uri or prefix
    if not bucket or "/" in bucket:
        raise CliError(f"--on-failure-bucket {text!r} is not a bucket name or s3://bucket/prefix")
    if prefix:
        return bucket, [prefix]
    if scope.mapping_uuids:
        return bucket, [f"{LAMBDA_PREFIX}{uuid}/" for uuid in scope.mapping_uuids]
    return bucket, [LAMBDA_PREFIX]


def run(aws: Aws, args: argparse.Namespace) -> int:
    resolved = resolve(aws, args)
    if not resolved.settings.dlq_url:
        raise CliError("no DLQ: pass --dlq-url, or --function to use the function's")
    queue_url(resolved.settings.dlq_url, "DLQ URL")
    scope = resolve_scope(args, resolved.function)
    source: QueueSource | BucketSource
    if args.on_failure_queue:
        if args.prefix is not None:
            raise CliError("--prefix goes with --on-failure-bucket")
        source = QueueSource(aws, queue_url(args.on_failure_queue, "on-failure queue URL"))
    else:
        bucket, prefixes = bucket_and_prefixes(args, scope)
        owner = resolved.function.account if resolved.function else None
        source = BucketSource(aws, owner or aws.account_id(), bucket, prefixes)
    summary = Replay(aws, args, resolved, scope, source).run()
    status = EXIT_OK if summary.complete else EXIT_INCOMPLETE
    verb = "would replay" if args.dry_run else "replayed"
    lines = [resolved.describe(), scope.describe(), f"from: {source.what}"]
    lines.append(
        f"{verb} {summary.records} records"
        + ("" if args.dry_run else f" from {summary.replayed} failed batches (published or parked)")
    )
    if summary.skipped:
        lines.append(f"already replayed (a marker under {MARKER_PREFIX}): {summary.skipped}")
    if summary.reported_back:
        lines.append(
            "reported back by the handler (from the first record neither published nor "
            f"parked): {summary.reported_back}"
        )
    lines.append(f"left {summary.left}")
    lines += [f"  {line}" for line in summary.notes.lines()]
    if summary.release_failed:
        lines.append(f"not released {summary.release_failed} (visible again when their hold ends)")
    document = {
        "command": "replay",
        "settings": resolved.describe().removeprefix("settings: "),
        "records_of": scope.describe().removeprefix("records of: "),
        "from": source.what,
        "dry_run": args.dry_run,
        "records": summary.records,
        "batches_replayed": summary.replayed,
        "already_replayed": summary.skipped,
        "reported_back": summary.reported_back,
        "left": summary.left,
        "not_marked_done": summary.done_failed,
        "not_released": summary.release_failed,
        "notes": summary.notes.as_json(),
        "exit_status": status,
    }
    emit(args, document, lines)
    return status
