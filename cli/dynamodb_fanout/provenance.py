"""Whose records a recovery command may publish: the function's own stream, nothing else.

A DLQ message, an on-failure batch and an S3 object are inputs, not
authorities: anyone who can send to the queue or write to the bucket decides
what they say. So before anything is published, a record must come from the
stream the function reads, and an on-failure batch from the function itself:

- ``--function NAME``: its DynamoDB event source mappings
  (lambda:ListEventSourceMappings) name the stream, hence the table;
- ``--stream-arn ARN``: the operator names it: a stream ARN (that stream
  only) or a table ARN (any stream of the table, e.g. one the table had
  before its stream was enabled again). With ``--function`` it must be the
  function's own table.

A record belongs when its ``eventSourceARN`` names the same table (partition,
region, account and name) and, when both ARNs carry one, the same stream
label. An on-failure batch belongs when its ``DDBStreamBatchInfo.streamArn``
does, and, when the function is known, its ``requestContext.functionArn`` is
the function (any version or alias of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dynamodb_fanout.errors import CliError
from dynamodb_fanout.function_settings import Function

_TABLE = re.compile(
    r"(?P<table>arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255})"
    r"(?:/stream/(?P<label>[^/\s]+))?"
)
_FUNCTION = re.compile(
    r"(?P<function>arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64})"
    r"(?::[A-Za-z0-9$_-]+)?"
)


@dataclass(frozen=True)
class StreamRef:
    """A table ARN and, when known, the label of one of its streams."""

    table_arn: str
    label: str | None = None

    @classmethod
    def parse(cls, arn: Any) -> StreamRef | None:
        match = _TABLE.fullmatch(arn) if isinstance(arn, str) else None
        return cls(match["table"], match["label"]) if match else None

    @property
    def table_name(self) -> str:
        return self.table_arn.rsplit("/", 1)[1]

    @property
    def region(self) -> str:
        return self.table_arn.split(":")[3]

    def __str__(self) -> str:
        return f"{self.table_arn}/stream/{self.label}" if self.label else self.table_arn


def unqualified_function(arn: Any) -> str | None:
    """A function ARN without its version or alias; None if it is not one."""
    match = _FUNCTION.fullmatch(arn) if isinstance(arn, str) else None
    return match["function"] if match else None


@dataclass(frozen=True)
class Scope:
    """The streams whose records are the function's, and the function when known."""

    streams: tuple[StreamRef, ...]
    function_arn: str | None
    origin: str  # for the summary: where the scope came from
    mapping_uuids: tuple[str, ...] = ()

    def describe(self) -> str:
        names = ", ".join(str(s) if s.label else f"{s} (any of its streams)" for s in self.streams)
        return f"records of: {names} ({self.origin})"

    @property
    def tables(self) -> set[str]:
        return {s.table_arn for s in self.streams}

    def record_problem(self, record: Any) -> str | None:
        """None when the record is the function's; else why it is left (one line)."""
        arn = record.get("eventSourceARN") if isinstance(record, dict) else None
        found = StreamRef.parse(arn)
        if found is None:
            return f"names no table: eventSourceARN {repr(arn)[:120]}"
        return self._stream_problem(found, "record")

    def batch_problem(self, function_arn: Any, stream_arn: Any) -> str | None:
        """None when an on-failure batch is the function's; else why it is left (one line)."""
        if self.function_arn is not None:
            theirs = unqualified_function(function_arn)
            if theirs != self.function_arn:
                named = str(function_arn)[:160]
                return f"another function's batch: requestContext.functionArn {named}"
        found = StreamRef.parse(stream_arn)
        if found is None or found.label is None:
            return f"names no stream: DDBStreamBatchInfo.streamArn {repr(stream_arn)[:160]}"
        return self._stream_problem(found, "batch")

    def _stream_problem(self, found: StreamRef, what: str) -> str | None:
        if found.table_arn not in self.tables:
            return f"another table's {what}: {found.table_arn}"
        for ours in self.streams:
            if ours.table_arn != found.table_arn:
                continue
            if ours.label is None or found.label is None or ours.label == found.label:
                return None
        return (
            f"a {what} of another stream of the table: {found}; pass --stream-arn "
            f"{found.table_arn} to recover the records of its earlier streams"
        )


def add_scope_option(parser: Any) -> None:
    """--stream-arn: whose records, when --function cannot say (or for an earlier stream)."""
    parser.add_argument(
        "--stream-arn",
        help="the stream whose records are recovered (a table ARN: any of its streams); default: "
        "the one --function's event source mapping reads",
    )


def resolve_scope(args: Any, function: Function | None, default: StreamRef | None = None) -> Scope:
    """The scope from --stream-arn or the function's mappings (or ``default``); CliError if none.

    ``default`` is a command's own answer when neither is given (backfill: the
    table the operator named).
    """
    explicit = getattr(args, "stream_arn", None)
    function_arn = unqualified_function(function.arn) if function else None
    if explicit:
        ref = StreamRef.parse(explicit)
        if ref is None:
            raise CliError(
                f"--stream-arn {explicit!r} is neither a DynamoDB stream ARN nor a table ARN"
            )
        if function and function.mappings:
            theirs = {StreamRef.parse(m.stream_arn) for m in function.mappings}
            if ref.table_arn not in {t.table_arn for t in theirs if t is not None}:
                raise CliError(
                    f"--stream-arn names table {ref.table_arn}; function {function.name} reads "
                    + ", ".join(sorted(str(t) for t in theirs if t is not None))
                )
        return Scope((ref,), function_arn, "--stream-arn")
    if function is not None:
        refs = [(StreamRef.parse(m.stream_arn), m.uuid) for m in function.mappings]
        streams = tuple(ref for ref, _ in refs if ref is not None)
        if not streams:
            raise CliError(
                f"function {function.name} has no DynamoDB stream event source mapping "
                "(lambda:ListEventSourceMappings), so the table whose records it publishes is "
                "unknown: pass --stream-arn (the table's stream ARN, or its table ARN)"
            )
        uuids = tuple(uuid for ref, uuid in refs if ref is not None and uuid)
        return Scope(
            streams, function_arn, f"function {function.name}'s event source mapping", uuids
        )
    if default is not None:
        return Scope((default,), None, "--table")
    raise CliError(
        "whose records? pass --function (its event source mapping names the stream) "
        "or --stream-arn (a stream ARN, or a table ARN for any of its streams)"
    )
