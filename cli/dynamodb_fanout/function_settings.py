"""The deployed function's settings, so the CLI builds events exactly as the function does.

``--function NAME`` reads the function's environment with
lambda:GetFunctionConfiguration; options given on the command line override
single values; without either, the module's defaults apply. Either way the
result goes through the handler's own ``Settings.from_env``, so a value the
function would refuse is refused here too, and ``describe`` says where the
settings came from (the summary prints it).

``--function`` also reads which streams the function reads: its DynamoDB
event source mappings (lambda:ListEventSourceMappings), the base of every
recovery command's check of where a record comes from (``provenance``).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from dynamodb_fanout.aws import Aws, account_of_arn, region_of_arn
from dynamodb_fanout.errors import CliError, error_code
from fanout import DETAIL_FORMATS, Settings, SettingsError

# Option (argparse dest) -> the function's environment variable it overrides.
OVERRIDES = {
    "event_bus": "EVENT_BUS_NAME",
    "dlq_url": "DLQ_URL",
    "source": "EVENT_SOURCE",
    "detail_format": "DETAIL_FORMAT",
    "max_event_size": "MAX_EVENT_SIZE",
    "max_event_bytes": "MAX_EVENT_BYTES",
    "large_event_bucket": "LARGE_EVENT_BUCKET",
    "large_event_prefix": "LARGE_EVENT_PREFIX",
}
_DEFAULTS = "the module's defaults (no --function)"
_NO_QUEUE = "https://sqs.invalid/000000000000/none"  # Settings requires a DLQ_URL; unused here


# The options that say how the function sizes its events: with one of them (or
# --function) the size cap an event must stay under is known.
SIZE_OPTIONS = ("max_event_size", "max_event_bytes", "large_event_bucket")


@dataclass(frozen=True)
class StreamMapping:
    """One of the function's DynamoDB event source mappings."""

    uuid: str
    stream_arn: str
    state: str


@dataclass(frozen=True)
class Function:
    """The deployed function: its ARN, environment and the streams it reads; for a local run
    (``local-run``) also its handler, limits, code and description."""

    name: str
    arn: str
    environment: dict[str, str]
    mappings: tuple[StreamMapping, ...]
    handler: str = ""
    timeout_s: int = 3  # Lambda's defaults
    memory_mb: int = 128
    code_sha256: str = ""  # base64 SHA-256 of the deployed zip, as Lambda reports it
    description: str = ""

    @property
    def account(self) -> str | None:
        return account_of_arn(self.arn)


@dataclass(frozen=True)
class Resolved:
    """The settings to build events with, the bus if one is known, and where they came from.

    ``known``: how the function builds events is known (``--function``, or
    the operator named ``--source`` and ``--detail-format``); ``cap_known``:
    the size cap its events stay under is known (``--function`` or a size
    option).
    """

    settings: Settings
    bus: str | None
    origin: str
    function: Function | None = None
    known: bool = False
    cap_known: bool = False

    def describe(self) -> str:
        s = self.settings
        cap = s.event_size_limit
        claim = (
            f"claim-check s3://{s.large_event_bucket}/{s.large_event_prefix}"
            if s.large_event_bucket
            else "no claim-check bucket"
        )
        return (
            f"settings: {self.origin}: source {s.event_source or 'dynamodb.<table>'}, "
            f"detail format {s.detail_format}, events under {cap} bytes, {claim}"
        )


def defaults() -> Resolved:
    """The module's defaults, no bus: what the CLI uses without --function or options."""
    return Resolved(Settings(event_bus_name="default", dlq_url=""), None, _DEFAULTS)


def add_options(parser: argparse.ArgumentParser, bus_help: str, dlq: bool = False) -> None:
    """--function and the options that override single values of its environment."""
    group = parser.add_argument_group(
        "how events are built (default: the deployed function's settings with --function, "
        "else the module's defaults)"
    )
    group.add_argument(
        "--function", help="the fan-out function's name or ARN: read its settings from Lambda"
    )
    group.add_argument("--event-bus", help=bus_help)
    if dlq:
        group.add_argument("--dlq-url", help="the fan-out's DLQ (as DLQ_URL)")
    group.add_argument("--source", help="as EVENT_SOURCE (default dynamodb.<table>)")
    group.add_argument("--detail-format", choices=DETAIL_FORMATS, help="as DETAIL_FORMAT")
    group.add_argument("--max-event-size", help="as MAX_EVENT_SIZE (bytes)")
    group.add_argument("--max-event-bytes", help="as MAX_EVENT_BYTES (bytes)")
    group.add_argument("--large-event-bucket", help="as LARGE_EVENT_BUCKET (claim-check)")
    group.add_argument("--large-event-prefix", help="as LARGE_EVENT_PREFIX")


def read_function(aws: Aws, name: str) -> Function:
    """The function's ARN and environment (lambda:GetFunctionConfiguration) and its DynamoDB
    stream mappings (lambda:ListEventSourceMappings)."""
    client = aws.client("lambda", region_of_arn(name))
    try:
        config = client.get_function_configuration(FunctionName=name)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(
                f"function {name!r} does not exist in {client.meta.region_name}"
            ) from None
        raise
    environment = dict((config.get("Environment") or {}).get("Variables") or {})
    mappings: list[StreamMapping] = []
    page: dict[str, str] = {}
    while True:
        answer = client.list_event_source_mappings(FunctionName=name, **page)
        for mapping in answer.get("EventSourceMappings") or []:
            source = str(mapping.get("EventSourceArn") or "")
            if ":dynamodb:" in source and "/stream/" in source:
                state = str(mapping.get("State") or "")
                mappings.append(StreamMapping(str(mapping.get("UUID") or ""), source, state))
        marker = answer.get("NextMarker")
        if not marker:
            break
        page = {"Marker": marker}
    arn = str(config.get("FunctionArn") or name)
    return Function(
        str(config.get("FunctionName") or name),
        arn,
        environment,
        tuple(mappings),
        handler=str(config.get("Handler") or ""),
        timeout_s=int(config.get("Timeout") or 3),
        memory_mb=int(config.get("MemorySize") or 128),
        code_sha256=str(config.get("CodeSha256") or ""),
        description=str(config.get("Description") or ""),
    )


def resolve(aws: Aws, args: argparse.Namespace, need_bus: bool = True) -> Resolved:
    """Settings from --function, then the explicit options; CliError for what is invalid."""
    function = getattr(args, "function", None)
    deployed = read_function(aws, function) if function else None
    env = dict(deployed.environment) if deployed else {}
    given = [
        (dest, name)
        for dest, name in OVERRIDES.items()
        if getattr(args, dest, None) not in (None, "")
    ]
    for dest, name in given:
        env[name] = str(getattr(args, dest))
    bus = env.get("EVENT_BUS_NAME") or None
    if need_bus and bus is None:
        raise CliError("no event bus: pass --event-bus, or --function to use the function's")
    has_dlq = bool(env.get("DLQ_URL"))
    env.setdefault("EVENT_BUS_NAME", "default")
    env.setdefault("DLQ_URL", _NO_QUEUE)
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        message = str(exc)
        for dest, name in given:  # name the option the operator typed, not the variable
            message = message.replace(f"{name}=", f"--{dest.replace('_', '-')}=")
        where = f"function {function!r}: " if function else ""
        raise CliError(where + message) from None
    if not has_dlq:
        settings = dataclasses.replace(settings, dlq_url="")
    options = ", ".join("--" + dest.replace("_", "-") for dest, _ in given)
    if function:
        origin = f"function {function}" + (f" with {options}" if options else "")
    elif options:
        origin = f"the module's defaults with {options} (no --function)"
    else:
        origin = _DEFAULTS
    named = {dest for dest, _ in given}
    known = deployed is not None or {"source", "detail_format"} <= named
    cap_known = deployed is not None or bool(named & set(SIZE_OPTIONS))
    return Resolved(settings, bus, origin, deployed, known, cap_known)
