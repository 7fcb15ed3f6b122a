"""End to end on moto_server: examples/local applied, a workload through the poller, destroyed.

One stack for the whole module (apply is the slow part); the tests run in file
order and build on each other: the function's settings, normal traffic, a bus
outage, recovery by apply, and finally destroy. That the module re-plans clean
right after apply is checked where more of it is applied: the real-root test
(rules, targets, queue and topic policies) and the upgrade test (the claim-check
bucket and its policy and lifecycle). The fixture's teardown
checks that the server is gone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from dynamodb_fanout.moto_stack import MotoServer, is_alive, moto_server
from localrun import workload
from localrun.local_run import Deliveries, Deployment, LocalStack, account, fan_out, run_dir
from localrun.tf import REPO_ROOT
from tests import event_schema
from tests.e2e.conftest import copy_module
from tools.package import build

pytestmark = pytest.mark.e2e

ZIP = REPO_ROOT / "dist" / "fanout.zip"


@dataclass
class Stack:
    server: MotoServer
    local: LocalStack
    deployment: Deployment
    destroyed: bool = False
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # every record read so far

    def run(self, changes: list[workload.Change]):
        """Write, poll and collect; return (run, deliveries, accounting) of these changes."""
        deliveries = Deliveries(self.local, self.deployment, keep_events=True)
        run = fan_out(self.local, self.deployment, changes, after_invoke=deliveries.receive)
        deliveries.receive(quiet_polls=2)
        self.seen.update(run.records)
        # Every event a consumer received, and every full event behind a pointer, is
        # what schemas/event.<DETAIL_FORMAT>.json says.
        fmt = self.deployment.function.environment.get("DETAIL_FORMAT", "plain")
        for event in [*deliveries.events, *deliveries.full_events.values()]:
            event_schema.assert_valid(event, fmt)
        return run, deliveries, account(run.records, deliveries)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    if not ZIP.exists():
        build(REPO_ROOT / "lambda_src", ZIP)
    example = copy_module("local", tmp_path_factory.mktemp("local-stack"))
    with moto_server(log_dir=run_dir()) as server:
        variables = {"batch_size": 40, "maximum_retry_attempts": 2}
        local = LocalStack(server, variables, example_dir=example)
        holder = Stack(server, local, local.deploy())
        try:
            yield holder
        finally:
            if not holder.destroyed:
                local.forget()
    assert not is_alive(server.pid), "moto_server outlived the test module"


def test_function_gets_its_settings_from_terraform(stack):
    env = stack.deployment.function.environment
    outputs = stack.deployment.outputs
    assert stack.deployment.function.handler == "fanout.handler.lambda_handler"
    assert stack.deployment.runs_current_code()  # the deployed zip is this source's build
    # local-run found the table's stream from the function alone (its description)
    assert stack.deployment.target.stream_arn == outputs["stream_arn"]
    assert env["EVENT_BUS_NAME"] == outputs["event_bus_name"]
    assert env["DLQ_URL"] == outputs["dlq_url"]
    assert env["EVENT_SOURCE"] == f"dynamodb.{outputs['table_name']}"
    assert env["MAX_EVENT_BYTES"] == "262144"
    assert env["LARGE_EVENT_BUCKET"] == outputs["large_event_bucket"]


def test_every_record_reaches_exactly_the_consumers_its_rule_selects(stack):
    changes = workload.plan(300, seed=1, prefix="normal")
    run, deliveries, result = stack.run(changes)

    assert run.stats.read == len(changes)
    assert run.stats.acknowledged == len(changes) and run.stats.discarded == 0
    assert result.ok, result
    assert result.duplicates == 0
    paid = sum(1 for c in changes if c.event_name == "MODIFY" and c.status == "PAID")
    # The oversize item reaches its consumer as a pointer; its S3 object holds the full event.
    assert result.per_consumer == {"audit": len(changes), "billing": paid}
    assert result.dead_lettered == Counter()
    assert result.claim_checked == 1 and not result.claim_check_errors
    (full,) = deliveries.full_events.values()
    assert full["detail"]["keys"] == {"pk": workload.oversize_key("normal")}
    assert len(full["detail"]["newImage"]["attachment"]) == workload.OVERSIZE_BYTES
    pointers = [e for e in deliveries.events if "claimCheck" in e["detail"]]
    assert [p["detail"]["eventID"] for p in pointers] == [full["detail"]["eventID"]]
    bucket = stack.deployment.outputs["large_event_bucket"]
    assert pointers[0]["detail"]["claimCheck"]["uri"].startswith(f"s3://{bucket}/large-events/")


def test_bus_outage_parks_exactly_the_records_written_during_it(stack):
    events = stack.local.client("events")
    events.delete_event_bus(Name=stack.deployment.outputs["event_bus_name"])
    changes = workload.plan(30, seed=2, oversize=False, prefix="outage")

    run, deliveries, result = stack.run(changes)

    assert run.stats.read == len(changes) and run.stats.discarded == 0
    assert set(deliveries.dead_letters) == set(run.records)
    assert all(len(bodies) == 1 for bodies in deliveries.dead_letters.values())
    assert {b[0]["reason"] for b in deliveries.dead_letters.values()} == {"PutEventsRejected"}
    assert result.per_consumer == {"audit": 0, "billing": 0}
    assert result.ok, result


def test_records_neither_published_nor_parked_are_retried_then_given_up(stack):
    # The bus is still gone; now the DLQ refuses every message too (its size limit is
    # cut below a dead letter's size), so the handler can neither publish nor park.
    sqs = stack.local.client("sqs")
    dlq_url = stack.deployment.outputs["dlq_url"]
    attribute = "MaximumMessageSize"
    original = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=[attribute])
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={attribute: "1024"})
    changes = workload.plan(5, seed=4, oversize=False, prefix="stuck")
    try:
        run, _, result = stack.run(changes)
    finally:
        sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes=original["Attributes"])

    assert run.stats.read == 5
    assert run.stats.partial_failures == 1 + 2  # first attempt + maximum_retry_attempts
    assert run.stats.redelivered == 2 * 5
    assert run.stats.discarded == 5 and run.stats.acknowledged == 0
    (batch,) = run.stats.on_failure
    assert batch["DDBStreamBatchInfo"]["batchSize"] == 5
    assert sorted(result.unaccounted) == sorted(run.records)  # what `make demo` fails on
    assert not result.ok


def test_apply_restores_the_bus_and_traffic_flows_again(stack):
    # Apply puts back the bus, its rules and their targets; the traffic below reaching
    # both consumers proves it.
    stack.local.root.apply()
    events = stack.local.client("events")
    bus = stack.deployment.outputs["event_bus_name"]
    assert events.describe_event_bus(Name=bus)["Name"] == bus

    changes = workload.plan(40, seed=3, oversize=False, prefix="after")
    _, deliveries, result = stack.run(changes)

    assert result.ok, result
    paid = sum(1 for c in changes if c.event_name == "MODIFY" and c.status == "PAID")
    assert result.per_consumer == {"audit": len(changes), "billing": paid}
    assert not deliveries.dead_letters


def test_every_record_was_read_once_over_the_whole_run(stack):
    assert len(stack.seen) == 300 + 30 + 5 + 40


def test_destroy_removes_everything(stack):
    stack.local.destroy()
    stack.destroyed = True
    assert stack.local.client("dynamodb").list_tables()["TableNames"] == []
    assert stack.local.client("sqs").list_queues().get("QueueUrls", []) == []
    assert stack.local.client("lambda").list_functions()["Functions"] == []
    buses = stack.local.client("events").list_event_buses()["EventBuses"]
    assert [bus["Name"] for bus in buses] == ["default"]
