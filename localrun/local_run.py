"""The fan-out deployed to moto and driven end to end: shared by `make demo` and the e2e tests.

``LocalStack`` applies ``examples/local`` to a moto_server through the
Terraform wrapper, ``fan_out`` writes a workload and plays the event source
mapping with `dynamodb-fanout local-run`'s own ``LocalRun`` (the function's
settings read back from Lambda, its stream, the handler in-process, one
checkpoint per stack), and ``account`` checks every stream record against
where it ended up: the consumer queues its rules select, or the dead-letter
queue, never neither and never twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dynamodb_fanout.aws import Aws  # the CLI's code (see localrun/__init__)
from dynamodb_fanout.function_settings import Function
from dynamodb_fanout.local_run import Checkpoint, LocalRun, Target, locate
from dynamodb_fanout.moto_stack import MotoServer
from dynamodb_fanout.queue import Queue
from dynamodb_fanout.stream_poller import PollerStats
from fanout import ClaimCheckError, fetch_full_event
from localrun import workload
from localrun.tf import REPO_ROOT, TerraformRoot

EXAMPLE_DIR = REPO_ROOT / "examples" / "local"
PACKAGE = REPO_ROOT / "dist" / "fanout.zip"  # what the example deploys (module default)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# Which stream records each consumer of examples/local should receive: the
# Python reading of the rules' event patterns in examples/local/main.tf.
def _status(record: dict[str, Any]) -> str | None:
    return record["dynamodb"].get("NewImage", {}).get("status", {}).get("S")


SELECTORS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "audit": lambda record: record["eventName"] in {"INSERT", "MODIFY", "REMOVE"},
    "billing": lambda record: record["eventName"] == "MODIFY" and _status(record) == "PAID",
}


def zip_sha256(path: Path) -> str:
    """The zip's hash the way Lambda and Terraform's filebase64sha256 report it."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


@dataclass
class Deployment:
    """What Terraform created, as the local run needs it: the outputs, and the function and
    its stream as `dynamodb-fanout local-run` finds them."""

    outputs: dict[str, Any]
    target: Target

    @property
    def function(self) -> Function:
        return self.target.function

    @property
    def consumers(self) -> dict[str, str]:
        return self.outputs["consumer_queue_urls"]

    def runs_current_code(self) -> bool:
        """The deployed zip is dist/fanout.zip as built from lambda_src now.

        The local run imports the handler from lambda_src; the build is
        reproducible, so equal hashes mean it runs exactly the deployed code.
        """
        return PACKAGE.exists() and zip_sha256(PACKAGE) == self.function.code_sha256


class LocalStack:
    """examples/local applied to one moto_server; clients for the services it uses."""

    def __init__(
        self,
        server: MotoServer,
        variables: dict[str, Any] | None = None,
        example_dir: Path = EXAMPLE_DIR,
    ) -> None:
        self.server = server
        # State lives and dies with this server: one file per run, outside the example.
        # A test applies a copy (example_dir) so that it never shares .terraform/ with
        # another run of the same example.
        self.root = TerraformRoot(
            example_dir,
            {"endpoint": server.endpoint, **(variables or {})},
            state=run_dir() / f"terraform-{server.port}.tfstate",
        )
        self.aws = Aws.local(server.endpoint)  # moto's dummy credentials, its region
        # Where the (absent) event source mapping would stand: runs resume from here.
        self.checkpoint: Checkpoint | None = None

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def deploy(self) -> Deployment:
        self.root.init()
        self.root.apply()
        return self.describe()

    def describe(self) -> Deployment:
        """Read the outputs and the function's configuration back from the APIs."""
        outputs = self.root.outputs()
        return Deployment(outputs, locate(self.aws, outputs["function_name"]))

    def destroy(self) -> None:
        self.root.destroy()
        self.root.remove_state()

    def forget(self) -> None:
        """Drop the state without destroying: for when the server is going away anyway."""
        self.root.remove_state()


@dataclass
class FanOutRun:
    """One workload pushed through the poller; what was read and how long it took."""

    records: dict[str, dict[str, Any]]  # eventID -> the record as first delivered
    stats: PollerStats
    write_seconds: float
    poll_seconds: float


def fan_out(
    stack: LocalStack,
    deployment: Deployment,
    changes: list[workload.Change],
    progress: Progress = _quiet,
    function_log: TextIO | None = None,
    after_invoke: Callable[[], None] | None = None,
) -> FanOutRun:
    """Write the changes, then run `local-run`'s LocalRun until every record was handled."""
    started = time.monotonic()
    workload.write(
        stack.client("dynamodb"),
        deployment.outputs["table_name"],
        changes,
        _write_progress(progress, len(changes)),
    )
    written = time.monotonic()

    records: dict[str, dict[str, Any]] = {}

    def record(batch: list[dict[str, Any]]) -> None:
        for one in batch:
            records.setdefault(one["eventID"], one)

    if stack.checkpoint is None:
        stack.checkpoint = Checkpoint(None, deployment.function.arn)
    local = LocalRun(
        stack.aws,
        deployment.target,
        stack.checkpoint,
        batch_size=int(deployment.outputs["batch_size"]),
        function_log=function_log,
        before_invoke=record,
        after_invoke=_invoke_progress(progress, after_invoke),
    )
    local.drain(timeout_s=300.0)
    return FanOutRun(records, local.stats, written - started, time.monotonic() - written)


def _write_progress(progress: Progress, total: int) -> Callable[[int], None]:
    """Report roughly every quarter of the workload."""
    step = max(1, total // 4)
    reported = [0]

    def report(count: int) -> None:
        if count - reported[0] >= step or count == total:
            reported[0] = count
            progress(f"wrote {count}/{total} changes to the table")

    return report


def _invoke_progress(
    progress: Progress, after_invoke: Callable[[], None] | None
) -> Callable[[PollerStats], None]:
    def report(stats: PollerStats) -> None:
        if after_invoke:
            after_invoke()
        if stats.invocations % 5 == 0:
            progress(
                f"poller: {stats.invocations} invocations, {stats.read} records read, "
                f"{stats.acknowledged} acknowledged"
            )

    return report


def receive_all(
    sqs: Any, queue_url: str, quiet_polls: int = 2, keep: list[str] | None = None
) -> list[dict[str, Any]]:
    """Consume every message in the queue: JSON bodies plus their message attributes.

    With ``keep``, messages are only read: hidden for the run and their receipt
    handles collected, so they can be made visible again (for the redrive).
    """
    queue = Queue(
        sqs, queue_url, hold_s=60 if keep is None else 3600, wait_s=0,
        empty_receives_to_stop=quiet_polls,
    )  # fmt: skip
    bodies: list[dict[str, Any]] = []
    while (messages := queue.receive()) is not None:
        for message in messages:
            body = json.loads(message["Body"])
            body["_attributes"] = {
                k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()
            }
            bodies.append(body)
        if keep is not None:
            keep += [m["ReceiptHandle"] for m in messages]
        else:
            queue.delete(messages)
    return bodies


class Deliveries:
    """Where the events went: per consumer the eventIDs received, and the DLQ bodies.

    A claim-check pointer event is resolved the way a consumer would, with
    ``fanout.claim_check.fetch_full_event``; its S3 object must hold the full event.

    The queues are consumed as the run goes (after every invocation), the way
    real consumers work; it also keeps moto fast, whose ReceiveMessage scans
    the whole queue several times per call.
    """

    def __init__(
        self, stack: LocalStack, deployment: Deployment, keep_events: bool = False
    ) -> None:
        self._sqs = stack.client("sqs")
        self._s3 = stack.client("s3")
        self.keep_events = keep_events
        self.events: list[dict[str, Any]] = []  # every event received, when keep_events
        self.full_events: dict[str, dict[str, Any]] = {}  # eventID -> fetched from its pointer
        self.claim_check_errors: list[str] = []
        self._consumer_urls = dict(deployment.consumers)
        self._dlq_url = deployment.outputs["dlq_url"]
        self.consumers: dict[str, Counter[str]] = {name: Counter() for name in self._consumer_urls}
        self.dead_letters: dict[str, list[dict[str, Any]]] = defaultdict(list)  # eventID -> bodies

        self.missing_queues: set[str] = set()  # queues that did not exist when read
        self.dead_letter_receipts: list[str] | None = None  # set to a list: read, not delete

    def receive(self, quiet_polls: int = 1) -> None:
        """Take whatever the queues hold now."""
        for name, url in self._consumer_urls.items():
            events = self._receive(url, quiet_polls)
            self.consumers[name].update(event["detail"]["eventID"] for event in events)
            for event in events:
                if "claimCheck" in event["detail"]:
                    self._resolve(event)
            if self.keep_events:
                self.events += events
        for body in self._receive(self._dlq_url, quiet_polls, self.dead_letter_receipts):
            self.dead_letters[body["record"]["eventID"]].append(body)

    def _resolve(self, event: dict[str, Any]) -> None:
        """Fetch the full event behind a pointer, as a consumer does."""
        event_id = event["detail"]["eventID"]
        try:
            full = fetch_full_event(event, self._s3)
        except ClaimCheckError as exc:
            self.claim_check_errors.append(f"{event_id}: {exc}")
            return
        self.full_events.setdefault(event_id, full)

    def release_dead_letters(self) -> None:
        """Make the DLQ messages read so far visible again (kept with dead_letter_receipts)."""
        receipts, self.dead_letter_receipts = self.dead_letter_receipts or [], []
        Queue(self._sqs, self._dlq_url).release(receipts)

    def _receive(
        self, url: str, quiet_polls: int, keep: list[str] | None = None
    ) -> list[dict[str, Any]]:
        try:
            return receive_all(self._sqs, url, quiet_polls, keep)
        except self._sqs.exceptions.QueueDoesNotExist:
            self.missing_queues.add(url)
            return []


@dataclass
class Accounting:
    """Every record read, checked against the consumers and the DLQ."""

    records: int = 0
    published: int = 0
    claim_checked: int = 0  # published as a pointer, the full event fetched from S3
    per_consumer: dict[str, int] = field(default_factory=dict)
    dead_lettered: Counter[str] = field(default_factory=Counter)  # by reason
    duplicates: int = 0
    unaccounted: list[str] = field(default_factory=list)  # in no consumer and not in the DLQ
    misrouted: list[str] = field(default_factory=list)  # a consumer got it against its rule
    missing: list[str] = field(default_factory=list)  # a consumer's rule selects it, not received
    published_and_parked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # delivered, but never read from the stream
    claim_check_errors: list[str] = field(default_factory=list)  # pointers without their event

    @property
    def ok(self) -> bool:
        return not (
            self.claim_check_errors
            or self.unaccounted
            or self.misrouted
            or self.missing
            or self.published_and_parked
            or self.unknown
        )


def account(records: dict[str, dict[str, Any]], deliveries: Deliveries) -> Accounting:
    """Compare what the stream held with what every queue received."""
    result = Accounting(records=len(records))
    result.per_consumer = {name: sum(c.values()) for name, c in deliveries.consumers.items()}
    for bodies in deliveries.dead_letters.values():
        result.dead_lettered.update(body["reason"] for body in bodies)
    result.duplicates = sum(
        n - 1 for c in deliveries.consumers.values() for n in c.values() if n > 1
    )
    result.duplicates += sum(len(b) - 1 for b in deliveries.dead_letters.values())
    delivered = set(deliveries.dead_letters).union(*deliveries.consumers.values())
    result.unknown = sorted(delivered - set(records))
    full_events = getattr(deliveries, "full_events", {})  # pointers resolved from S3
    result.claim_checked = len(full_events)
    result.claim_check_errors = list(getattr(deliveries, "claim_check_errors", []))
    for event_id, record in records.items():
        received = {name for name, c in deliveries.consumers.items() if event_id in c}
        parked = event_id in deliveries.dead_letters
        if received:
            result.published += 1
        if parked and received:
            result.published_and_parked.append(event_id)
        if not parked and not received:
            result.unaccounted.append(event_id)
        seen = record
        if event_id in full_events:  # rules saw the pointer: no images
            seen = {**record, "dynamodb": {"Keys": record["dynamodb"].get("Keys", {})}}
        for name in deliveries.consumers:
            wanted = not parked and SELECTORS.get(name, lambda _: True)(seen)
            if name in received and not wanted:
                result.misrouted.append(f"{name}:{event_id}")
            if wanted and name not in received:
                result.missing.append(f"{name}:{event_id}")
    return result


@dataclass
class Redriven:
    """The parked records after `dynamodb-fanout redrive`: where each one went."""

    exit_status: int
    output: str
    expected: dict[str, set[str]]  # consumer -> eventIDs its rule selects among the parked
    received: dict[str, Counter[str]]
    left: list[str]  # parked records that cannot be published (malformed, too large)

    @property
    def ok(self) -> bool:
        """Exit 0, or 1 exactly when some parked records had no event to re-publish."""
        return self.exit_status == (1 if self.left else 0) and all(
            set(self.received[name]) == ids and all(n == 1 for n in self.received[name].values())
            for name, ids in self.expected.items()
        )


def redrive_parked(
    stack: LocalStack,
    deployment: Deployment,
    run: FanOutRun,
    deliveries: Deliveries,
    progress: Progress = _quiet,
) -> Redriven:
    """Fix the cause (terraform apply brings the bus back), redrive the DLQ with the CLI.

    The CLI runs as an operator runs it, in its own process; then every parked
    record must reach exactly the consumers its rules select, once.
    """
    deliveries.release_dead_letters()
    progress("the cause fixed: terraform apply re-creates the bus and its rules")
    stack.root.apply()
    command = [sys.executable, "-m", "dynamodb_fanout", "--endpoint-url", stack.server.endpoint]
    redrive = ["redrive", "--queue-url", deployment.outputs["dlq_url"]]
    redrive += ["--function", deployment.outputs["function_name"]]  # built as the function does
    # The local root has no event source mapping (moto cannot run the function), so the
    # stream whose records the function publishes is named, as an operator would.
    redrive += ["--stream-arn", deployment.outputs["stream_arn"]]
    command += redrive
    progress("dynamodb-fanout " + " ".join(redrive))
    code_path = os.pathsep.join(str(REPO_ROOT / d) for d in ("cli", "lambda_src"))
    env = {**os.environ, **stack.server.aws_environment(), "PYTHONPATH": code_path}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    republishable = {
        event_id
        for event_id, bodies in deliveries.dead_letters.items()
        if any(("event" in b and not b.get("truncated")) or _has_images(b) for b in bodies)
    }
    expected = {
        name: {i for i in republishable if SELECTORS.get(name, lambda _: True)(run.records[i])}
        for name in deliveries.consumers
    }
    after = Deliveries(stack, deployment)
    after.receive(quiet_polls=2)
    left = sorted(set(deliveries.dead_letters) - republishable)
    return Redriven(done.returncode, done.stdout + done.stderr, expected, after.consumers, left)


def _has_images(body: dict[str, Any]) -> bool:
    """A DLQ body that kept the complete record (its images): redrive rebuilds the event."""
    record = body.get("record")
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    return isinstance(ddb, dict) and ("NewImage" in ddb or "OldImage" in ddb)


def run_dir() -> Path:
    """build/local-run: state files, function and server logs of local runs."""
    path = REPO_ROOT / "build" / "local-run"
    path.mkdir(parents=True, exist_ok=True)
    return path
