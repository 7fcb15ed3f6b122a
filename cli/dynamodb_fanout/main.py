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
from typing import NoReturn

from dynamodb_fanout import (
    __version__,
    backfill,
    check_pattern,
    fetch_event,
    local_run,
    redrive,
    replay,
)
from dynamodb_fanout.arguments import EXIT_STATUS
from dynamodb_fanout.aws import Aws
from dynamodb_fanout.errors import EXIT_ERROR, EXIT_INTERRUPTED, CliError, describe

PROG = "dynamodb-fanout"
# each: add_parser, run
COMMANDS = (redrive, backfill, replay, check_pattern, fetch_event, local_run)


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors as one line, like every other expected failure."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_ERROR)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--region/--profile/--endpoint-url, accepted before or after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("AWS")
    group.add_argument(
        "--region",
        default=default,
        help="AWS region (default: the resource's own, else AWS_REGION, AWS_DEFAULT_REGION, "
        "the profile's)",
    )
    group.add_argument("--profile", default=default, help="named profile from ~/.aws/config")
    group.add_argument(
        "--endpoint-url", default=default, help="another endpoint, e.g. a local moto_server"
    )


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog=PROG,
        description="Operate a DynamoDB Stream -> EventBridge fan-out: "
        "redrive, backfill, replay, check-pattern, fetch-event, local-run.",
        epilog=EXIT_STATUS,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(top, suppress=False)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, lambda p: _global_options(p, suppress=True))
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[Aws, argparse.Namespace], int] = args.run
    aws = Aws(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    try:
        return run(aws, args)
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
