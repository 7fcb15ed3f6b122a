"""The `dynamodb-fanout` command line: global options, subcommands, exit statuses.

Exit 0 when the work is done, 1 when it ran but left something undone (an
event that failed again, a record it could not reach: the summary says
which), 2 for an expected failure (one line on stderr, no traceback), 130
on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from dynamodb_fanout import __version__, backfill, check_pattern, fetch_event, replay
from dynamodb_fanout.aws import Aws, queue_url
from dynamodb_fanout.errors import (
    EXIT_ERROR,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    describe,
)
from dynamodb_fanout.redrive import Redrive, print_summary

PROG = "dynamodb-fanout"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of events per second")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors as one line, like every other expected failure."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_ERROR)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--region/--profile/--endpoint-url, accepted before or after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", default=default, help="AWS region (default: the resource's own)")
    group.add_argument("--profile", default=default, help="named profile from ~/.aws/config")
    group.add_argument(
        "--endpoint-url", default=default, help="another endpoint, e.g. a local moto_server"
    )


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog=PROG,
        description="Operate a DynamoDB Stream -> EventBridge fan-out: "
        "redrive, backfill, replay, check-pattern, fetch-event.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(top, suppress=False)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, suppress=True)
        return p

    p = command("redrive", "Re-publish the events parked in the fan-out's dead-letter queue.")
    p.add_argument("--queue-url", required=True, help="the DLQ (the module's dlq_url output)")
    p.add_argument("--event-bus", help="publish here instead of each event's own bus")
    p.add_argument("--dry-run", action="store_true", help="count and list; publish nothing")
    p.add_argument("--limit", type=_positive, help="look at no more than N messages")
    p.add_argument(
        "--reason", action="append", help="only messages parked for this reason (repeatable)"
    )
    p.add_argument(
        "--from-table",
        action="store_true",
        help="rebuild truncated messages' events from the table's current item (needs --event-bus)",
    )
    p.set_defaults(run=_redrive)

    p = command("backfill", "Publish every item of a table as an event (a parallel Scan).")
    p.add_argument("--table", required=True, help="table name or ARN")
    p.add_argument("--event-bus", required=True, help="bus name or ARN")
    p.add_argument("--detail-type", default="BACKFILL", help="detail-type (default BACKFILL)")
    p.add_argument("--source", help="event source (default dynamodb.<table>, as the handler)")
    p.add_argument(
        "--detail-format",
        choices=("plain", "raw", "both"),
        default="plain",
        help="as DETAIL_FORMAT",
    )
    p.add_argument("--segments", type=_positive, default=4, help="parallel Scan segments (4)")
    p.add_argument("--rate", type=_rate, help="at most this many events per second")
    p.add_argument("--checkpoint", type=Path, help="file to resume from and record progress in")
    p.add_argument("--dlq-url", help="park failures here, in the handler's DLQ format")
    p.add_argument(
        "--failures",
        type=Path,
        default=Path("backfill-failures.jsonl"),
        help="without --dlq-url, failures go here, one DLQ body per line",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_backfill)

    p = command(
        "replay", "Replay the stream batches Lambda gave up on (its on-failure destination)."
    )
    p.add_argument("--on-failure-queue", required=True, help="SQS on-failure destination URL")
    p.add_argument("--event-bus", required=True, help="bus name or ARN (as EVENT_BUS_NAME)")
    p.add_argument("--dlq-url", required=True, help="the fan-out's DLQ (as DLQ_URL)")
    p.add_argument("--source", help="as EVENT_SOURCE (default dynamodb.<table>)")
    p.add_argument("--detail-format", choices=("plain", "raw", "both"), default="plain")
    p.add_argument("--dry-run", action="store_true", help="read the records back; publish nothing")
    p.add_argument("--limit", type=_positive, help="look at no more than N messages")
    p.set_defaults(run=_replay)

    p = command("check-pattern", "Say which sample stream records an event pattern matches.")
    p.add_argument("--pattern", required=True, help="the event pattern: a JSON file or JSON text")
    p.add_argument(
        "--event",
        action="append",
        type=Path,
        help="a Lambda stream event file (repeatable; default: the bundled examples/events)",
    )
    p.add_argument("--source", help="as EVENT_SOURCE (default dynamodb.<table>)")
    p.add_argument("--detail-format", choices=("plain", "raw", "both"), default="plain")
    p.set_defaults(run=_check_pattern)

    p = command("fetch-event", "Print the full event behind a claim-checked pointer event.")
    p.add_argument(
        "event",
        nargs="?",
        type=Path,
        help="the delivered event as JSON, a file or - for standard input (the default)",
    )
    p.set_defaults(run=_fetch_event)
    return top


def _aws(args: argparse.Namespace) -> Aws:
    return Aws(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def _redrive(args: argparse.Namespace) -> int:
    if args.from_table and not args.event_bus:
        raise CliError("--from-table needs --event-bus (a truncated message has no event)")
    summary = Redrive(
        _aws(args),
        queue_url(args.queue_url),
        args.event_bus,
        dry_run=args.dry_run,
        limit=args.limit,
        from_table=args.from_table,
        reasons=set(args.reason or ()),
    ).run()
    print_summary(summary, args.dry_run)
    return EXIT_INCOMPLETE if summary.failed else EXIT_OK


def _backfill(args: argparse.Namespace) -> int:
    return backfill.run(_aws(args), args)


def _replay(args: argparse.Namespace) -> int:
    return replay.run(_aws(args), args)


def _check_pattern(args: argparse.Namespace) -> int:
    return check_pattern.run(_aws(args), args)


def _fetch_event(args: argparse.Namespace) -> int:
    return fetch_event.run(_aws(args), args)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # AWS's expected failures become one line; bugs keep a traceback
        message = describe(exc)
        if message is None:
            raise
        return _fail(message)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
