"""The deployed function's settings, so the CLI builds events exactly as the function does.

``--function NAME`` reads the function's environment with
lambda:GetFunctionConfiguration; options given on the command line override
single values; without either, the module's defaults apply. Either way the
result goes through the handler's own ``Settings.from_env``, so a value the
function would refuse is refused here too, and ``describe`` says where the
settings came from (the summary prints it).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from dynamodb_fanout.aws import Aws, region_of_arn
from dynamodb_fanout.errors import CliError, error_code
from fanout.settings import DETAIL_FORMATS, Settings, SettingsError

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


@dataclass(frozen=True)
class Resolved:
    """The settings to build events with, the bus if one is known, and where they came from."""

    settings: Settings
    bus: str | None
    origin: str

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


def function_environment(aws: Aws, name: str) -> dict[str, str]:
    """The function's environment variables (lambda:GetFunctionConfiguration)."""
    client = aws.client("lambda", region_of_arn(name))
    try:
        config = client.get_function_configuration(FunctionName=name)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(
                f"function {name!r} does not exist in {client.meta.region_name}"
            ) from None
        raise
    return dict((config.get("Environment") or {}).get("Variables") or {})


def resolve(aws: Aws, args: argparse.Namespace, need_bus: bool = True) -> Resolved:
    """Settings from --function, then the explicit options; CliError for what is invalid."""
    function = getattr(args, "function", None)
    env = function_environment(aws, function) if function else {}
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
    if need_bus and settings.ordered:
        raise CliError(
            f"{bus} is a new custom event bus (event-busv2): re-publishing to it in "
            "per-item order is not supported by dynamodb-fanout yet; see docs/ordered-bus.md"
        )
    if not has_dlq:
        settings = dataclasses.replace(settings, dlq_url="")
    options = ", ".join("--" + dest.replace("_", "-") for dest, _ in given)
    if function:
        origin = f"function {function}" + (f" with {options}" if options else "")
    elif options:
        origin = f"the module's defaults with {options} (no --function)"
    else:
        origin = _DEFAULTS
    return Resolved(settings, bus, origin)
