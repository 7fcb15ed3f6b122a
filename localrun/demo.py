"""`make demo`: the whole fan-out running locally on moto_server, no AWS account needed.

Starts a private moto_server, applies examples/local through Terraform, writes
a workload of order changes to the table, runs the stream poller with the
deployed function's code and settings, reads both consumer queues and the
dead-letter queue, and prints where every record went. Exits 1 if any record
is unaccounted for or misrouted, 2 if the run itself failed, 130 on Ctrl-C.

    python -m localrun.demo [--records 1000] [--batch-size 100] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from dynamodb_fanout.moto_stack import REGION, MotoServer, moto_server
from localrun import workload
from localrun.local_run import (
    Accounting,
    Deliveries,
    Deployment,
    FanOutRun,
    LocalStack,
    account,
    fan_out,
    redrive_parked,
    run_dir,
)
from localrun.tf import TerraformError, child_pids, stop_terraform_children

EXIT_OK, EXIT_UNACCOUNTED, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


class Clock:
    """Progress lines stamped with the seconds since the demo started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f}s] {message}", flush=True)


@contextlib.contextmanager
def heartbeat(clock: Clock, label: str, every_s: float = 15.0) -> Iterator[None]:
    """A line every few seconds while a long, silent step (terraform) runs."""
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every_s):
            clock.say(f"  ... {label} ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def describe_workload(changes: list[workload.Change]) -> str:
    kinds = Counter(change.event_name for change in changes)
    oversize = sum(1 for change in changes if change.key.endswith("-oversize"))
    return (
        f"{len(changes)} changes: {kinds['INSERT']} inserts, {kinds['MODIFY']} updates, "
        f"{kinds['REMOVE']} deletes (incl. {oversize} oversize item of "
        f"{workload.OVERSIZE_BYTES // 1000} KB)"
    )


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} records/s" if seconds > 0 else "n/a"


def summary_record(
    args: argparse.Namespace, run: FanOutRun, result: Accounting, end_to_end_s: float
) -> dict[str, object]:
    """The summary as data, for benchmarks and CI to keep (``--json``)."""
    stats = run.stats
    return {
        "command": "make demo DEMO_ARGS='" + " ".join(sys.argv[1:]) + "'",
        "records": stats.read,
        "batch_size": args.batch_size,
        "invocations": stats.invocations,
        "published": result.published,
        "claim_checked": result.claim_checked,
        "per_consumer": result.per_consumer,
        "dead_lettered": dict(result.dead_lettered),
        "duplicates": result.duplicates,
        "unaccounted": len(result.unaccounted),
        "ok": result.ok,
        "write_seconds": round(run.write_seconds, 2),
        "stream_to_consumers_seconds": round(run.poll_seconds, 2),
        "end_to_end_seconds": round(end_to_end_s, 2),
        "records_per_second": round(stats.read / end_to_end_s, 1) if end_to_end_s else None,
        "handler_seconds": round(stats.handler_seconds, 2),
    }


def example_per_reason(dead_letters: dict[str, list[dict]]) -> dict[str, dict]:
    """The first DLQ message of each reason, to show what they look like."""
    examples: dict[str, dict] = {}
    for bodies in dead_letters.values():
        examples.setdefault(bodies[0]["reason"], bodies[0])
    return dict(sorted(examples.items()))


def print_summary(
    deployment: Deployment,
    run: FanOutRun,
    deliveries: Deliveries,
    result: Accounting,
    end_to_end_s: float,
) -> None:
    stats = run.stats
    rules = deployment.outputs.get("consumer_rules", {})

    def row(label: str, value: object, note: str = "") -> str:
        return f"  {label:<36}{value!s:>7}  {note}".rstrip()

    lines = [
        "",
        "Summary",
        row(
            "stream records read",
            stats.read,
            f"{stats.invocations} invocations of batch size {deployment.outputs['batch_size']}, "
            f"{stats.redelivered} re-delivered, {stats.discarded} given up",
        ),
        row("published to the bus", result.published),
    ]
    if result.claim_checked or result.claim_check_errors:
        lines.append(
            row("  of which claim-checked", result.claim_checked, "pointers, full event in S3")
        )
        for event in list(deliveries.full_events.values())[:1]:
            keys = event["detail"].get("keys") or event["detail"].get("dynamodb", {}).get("Keys")
            size = len(json.dumps(event["detail"]))
            lines.append(f"      e.g. {keys}: full event of {size} bytes fetched from its pointer")
        for error in result.claim_check_errors[:3]:
            lines.append(f"      pointer without its event: {error[:100]}")
    if stats.handler_errors:
        lines.append(row("handler errors", stats.handler_errors, stats.last_error[:90]))
    for name, count in result.per_consumer.items():
        lines.append(row(f"{name} <- {rules.get(name, '?')}", count, "events (consumer <- rule)"))
    lines.append(row("dead-letter queue", sum(result.dead_lettered.values()), "messages"))
    for reason, count in sorted(result.dead_lettered.items()):
        lines.append(row(f"  reason {reason}", count))
    for body in example_per_reason(deliveries.dead_letters).values():
        keys = body["record"]["dynamodb"].get("Keys", {})
        truncated = " (body truncated to keys + metadata)" if body.get("truncated") else ""
        lines.append(f"      e.g. {keys}: {body['message'][:90]}{truncated}")
    lines += [
        row("duplicates seen", result.duplicates),
        row("unaccounted for", len(result.unaccounted)),
        row("misrouted / missing", f"{len(result.misrouted)} / {len(result.missing)}"),
        f"  time: write {run.write_seconds:.1f}s, stream -> consumers {run.poll_seconds:.1f}s, "
        f"end-to-end {end_to_end_s:.1f}s = {rate(stats.read, end_to_end_s)}",
        f"        of which inside the handler {stats.handler_seconds:.1f}s "
        f"({rate(stats.read, stats.handler_seconds)})",
    ]
    print("\n".join(lines), flush=True)


class BusOutage:
    """Delete the bus behind Terraform's back once half the workload is through.

    Shows the failure path: from then on PutEvents fails, every record goes to
    the DLQ with the reason, and the verdict still finds every record.
    """

    def __init__(
        self,
        stack: LocalStack,
        deployment: Deployment,
        changes: list[workload.Change],
        batch_size: int,
        clock: Clock,
        then: Callable[[], None],
    ) -> None:
        self.events = stack.client("events")
        self.bus = deployment.outputs["event_bus_name"]
        self.remaining = max(1, len(changes) // 2 // batch_size)
        self.clock = clock
        self.then = then

    def __call__(self) -> None:
        self.then()
        self.remaining -= 1
        if self.remaining == 0:
            self.clock.say(f"bus outage: deleting event bus {self.bus} (and its rules)")
            self.events.delete_event_bus(Name=self.bus)


def redrive(
    stack: LocalStack, deployment: Deployment, run: FanOutRun, deliveries: Deliveries, clock: Clock
) -> bool:
    """After a bus outage: bring the bus back, redrive the DLQ with the CLI, check the consumers."""
    redriven = redrive_parked(stack, deployment, run, deliveries, clock.say)
    clock.say("redrive done; where the parked events went:")
    print("\n".join("    " + line for line in redriven.output.rstrip().splitlines()))
    for name, ids in redriven.expected.items():
        got = redriven.received[name]
        print(f"  {name}: {len(set(got) & ids)} of the {len(ids)} parked events its rule selects")
    if redriven.left:
        print(f"  left in the DLQ (no event to re-publish): {len(redriven.left)}")
    verdict = "every parked event reached its consumers" if redriven.ok else "FAILED"
    print(f"  redrive: {verdict}", flush=True)
    return redriven.ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localrun.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--records", type=int, default=1000, help="changes to write (>= 2)")
    parser.add_argument("--batch-size", type=int, default=100, help="records per invocation")
    parser.add_argument("--seed", type=int, default=7, help="seed of the workload")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="skip destroy; keep moto_server running for inspection until Ctrl-C",
    )
    parser.add_argument(
        "--bus-outage",
        action="store_true",
        help="delete the event bus halfway through: the rest goes to the DLQ, nothing is lost",
    )
    parser.add_argument("--json", type=Path, help="also write the summary as JSON to this file")
    args = parser.parse_args(argv)
    if args.records < 2:
        parser.error("--records must be at least 2 (one of them is the oversize item)")
    if not 1 <= args.batch_size <= 10000:
        parser.error("--batch-size must be 1..10000")
    return args


def keep_hint(server: MotoServer) -> str:
    """How to reach the kept server with the AWS CLI.

    ``--endpoint-url`` rather than AWS_ENDPOINT_URL: CLIs older than v1.29 / v2.13
    ignore the variable and would send the call to real AWS.
    """
    return (
        f"    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        f"AWS_DEFAULT_REGION={REGION} aws --endpoint-url {server.endpoint} sqs list-queues\n"
        f"  press Ctrl-C to stop the server (its resources go with it)"
    )


def keep_running(clock: Clock, stack: LocalStack) -> None:
    server = stack.server
    clock.say(f"kept: moto_server pid {server.pid} at {server.endpoint}; try\n{keep_hint(server)}")
    # Only sleeping from here on, so Ctrl-C may unwind normally and the summary is kept.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


def demo(args: argparse.Namespace, clock: Clock) -> int:
    print("DynamoDB stream -> EventBridge fan-out, running locally on moto_server", flush=True)
    with moto_server(log_dir=run_dir()) as server:
        clock.say(f"moto_server pid {server.pid} listening on {server.endpoint}")
        stack = LocalStack(server, {"batch_size": args.batch_size})
        destroyed = False
        try:
            clock.say("terraform init + apply examples/local (table, 2 consumer queues, module)")
            with heartbeat(clock, "terraform apply"):
                deployment = stack.deploy()
            clock.say(
                f"applied in {stack.root.timings['apply']:.1f}s: function "
                f"{deployment.function.name}, bus {deployment.outputs['event_bus_name']}, "
                f"consumers {', '.join(deployment.consumers)}"
            )
            if not deployment.runs_current_code():
                clock.say("warning: the deployed zip is not dist/fanout.zip; run `make package`")
            changes = workload.plan(args.records, seed=args.seed)
            clock.say(f"workload: {describe_workload(changes)}")
            function_log_path = run_dir() / f"function-{server.port}.log"
            started = time.monotonic()
            deliveries = Deliveries(stack, deployment)
            after_invoke = deliveries.receive
            if args.bus_outage:
                deliveries.dead_letter_receipts = []  # read the DLQ, leave it for the redrive
                after_invoke = BusOutage(
                    stack, deployment, changes, args.batch_size, clock, after_invoke
                )
            with function_log_path.open("w") as function_log:
                run = fan_out(stack, deployment, changes, clock.say, function_log, after_invoke)
            clock.say(f"stream drained: {run.stats.read} records; reading the rest of the queues")
            deliveries.receive(quiet_polls=2)
            end_to_end = time.monotonic() - started
            result = account(run.records, deliveries)
            print_summary(deployment, run, deliveries, result, end_to_end)
            summary = summary_record(args, run, result, end_to_end)
            print(f"  function log (one EMF line per invocation): {function_log_path}")
            redrive_ok = not args.bus_outage or redrive(stack, deployment, run, deliveries, clock)
            if args.keep:
                keep_running(clock, stack)
            else:
                clock.say("terraform destroy")
                with heartbeat(clock, "terraform destroy"):
                    stack.destroy()
                destroyed = True
                clock.say(f"destroyed in {stack.root.timings['destroy']:.1f}s")
        finally:
            if not destroyed:
                stack.forget()
    clock.say(f"moto_server stopped; total {clock.elapsed:.1f}s")
    if args.json:
        summary["total_seconds"] = round(clock.elapsed, 1)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if result.ok and redrive_ok:
        print(
            "RESULT: OK - every record reached exactly the consumers its rules select, or the DLQ"
        )
        return EXIT_OK
    print(
        f"RESULT: FAILED - unaccounted {result.unaccounted[:5]}, misrouted "
        f"{result.misrouted[:5]}, missing {result.missing[:5]}, published and parked "
        f"{result.published_and_parked[:5]}, never read {result.unknown[:5]}"
    )
    return EXIT_UNACCOUNTED


def _stop_now(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: stop terraform and moto_server by pid and exit, destroying nothing.

    Raising KeyboardInterrupt from here instead could leave a lock held by the
    interrupted main thread (logging's, for one) and hang the publisher's
    threads that wait on it; exiting at once cannot hang.
    """
    stop_terraform_children(grace_s=10.0)
    for pid in child_pids():  # moto_server, and the CLI during the redrive step
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    os.write(2, b"interrupted: terraform and moto_server stopped, nothing destroyed\n")
    os._exit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = Clock()
    signal.signal(signal.SIGTERM, _stop_now)
    signal.signal(signal.SIGINT, _stop_now)
    try:
        return demo(args, clock)
    except TerraformError as error:
        clock.say(f"FAILED: {error}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
