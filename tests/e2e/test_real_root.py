"""The module in roots that create their tables and queues alongside it, on moto_server.

`terraform test` passes literal ARNs, so it cannot see what breaks when every ARN is
"known after apply". Here examples/many-tables (two tables, one bus, two module
instances, a queue fed by two rules, an on-failure queue given by an apply-time ARN) is
planned, applied, checked for a clean re-plan, and then re-planned with another stream
view type: only the event source mappings may be replaced, nothing stateful. The
complete and existing-bus examples are planned against the same server (examples/local is
applied by test_local_stack.py), so a broken example fails here, not in a user's first
plan.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from python_terraform import IsFlagged

from dynamodb_fanout.moto_stack import MotoServer, is_alive, moto_server
from localrun.tf import PLAN_HAS_CHANGES, PLAN_NO_CHANGES, TerraformRoot
from tests.e2e.conftest import copy_module
from tests.module.conftest import ROOT

pytestmark = pytest.mark.e2e

# Resources whose replacement loses data or history (parked messages, logs, the bus's
# rules and archive, the stream itself) or breaks callers that hold their ARN.
STATEFUL = {
    "aws_dynamodb_table",
    "aws_sqs_queue",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_event_bus",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_archive",
    "aws_lambda_function",
    "aws_iam_role",
    "aws_sns_topic",
}
MAY_BE_REPLACED = {"aws_lambda_event_source_mapping"}  # it names the stream, whose label changes

PROVIDER_OVERRIDE = """
provider "aws" {
  region     = "us-east-1"
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
%s
  }
}
"""
SERVICES = ("cloudwatch", "dynamodb", "events", "iam", "lambda", "logs", "sns", "sqs", "sts")


PLUGIN_CACHE = ROOT / "build" / "plugin-cache"


@dataclass(frozen=True)
class Plan:
    """A plan saved to a file, and what it would do to each resource that changes."""

    rc: int
    file: Path
    actions: dict[str, tuple[str, list[str]]]  # address -> (resource type, actions)


# `terraform plan -json` names one action per resource; `terraform show -json` lists them.
ACTIONS = {"replace": ["delete", "create"], "move": ["no-op"], "noop": ["no-op"]}


class Root(TerraformRoot):
    """A root planned to a file; the plan read from Terraform's JSON output.

    Every root shares one provider cache: `terraform init` then links the provider
    instead of copying it from the mirror for each copied root.
    """

    def __init__(self, working_dir: Path, variables: dict[str, Any], state: Path | None = None):
        PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
        super().__init__(
            working_dir, variables, env={"TF_PLUGIN_CACHE_DIR": str(PLUGIN_CACHE)}, state=state
        )

    @property
    def plan_file(self) -> Path:
        """Where the last plan is saved, for `apply_saved_plan`."""
        return self.working_dir / "test.tfplan"

    def plan_changes(self) -> Plan:
        """Plan to a file; the actions come from the plan's own -json messages (no
        `terraform show`, which loads the provider's schema once more)."""
        rc, out, _ = self._run(
            "plan",
            self._tf.plan,
            out=str(self.plan_file),
            json=IsFlagged,
            ok=(PLAN_NO_CHANGES, PLAN_HAS_CHANGES),
        )
        actions = {}
        for line in out.splitlines():
            message = json.loads(line)
            if message.get("type") == "planned_change":
                change = message["change"]
                resource = change["resource"]
                listed = ACTIONS.get(change["action"], [change["action"]])
                actions[resource["addr"]] = (resource["resource_type"], listed)
        return Plan(rc, self.plan_file, actions)

    def plan_json(self) -> tuple[Plan, dict[str, Any]]:
        """Plan to a file and read it whole too (`terraform show -json`): every attribute."""
        plan = self.plan_changes()
        _, out, _ = self._run(
            "show", self._tf.cmd, "show", str(plan.file), json=IsFlagged, no_color=IsFlagged
        )
        return plan, json.loads(out)

    def apply_saved_plan(self) -> None:
        """Apply the last plan as it was saved, as a reviewed plan is applied."""
        self._run(
            "apply",
            self._tf.cmd,
            "apply",
            str(self.plan_file),
            input=False,
            no_color=IsFlagged,
            **self._state,
        )


def copy_module_with_example(example: str, server: MotoServer, into: Path) -> Path:
    """The module and one example below it, with a provider override that sends every
    call to the local server."""
    target = copy_module(example, into)
    endpoints = "\n".join(f'    {s:<10} = "{server.endpoint}"' for s in SERVICES)
    (target / "moto_override.tf").write_text(PROVIDER_OVERRIDE % endpoints, encoding="utf-8")
    return target


def changes(plan: Plan) -> dict[str, list[str]]:
    """Resource address -> actions, for every resource the plan would touch."""
    return {
        address: actions
        for address, (_, actions) in plan.actions.items()
        if actions not in (["no-op"], ["read"])
    }


def replaced(plan: Plan) -> dict[str, str]:
    """Address -> type of every resource the plan deletes (replace = delete + create)."""
    return {
        address: kind for address, (kind, actions) in plan.actions.items() if "delete" in actions
    }


def planned(shown: dict[str, Any], address: str) -> dict[str, Any]:
    """(after, after_unknown) of one resource change in `terraform show -json` of a plan."""
    for rc in shown["resource_changes"]:
        if rc["address"] == address:
            return rc["change"]
    raise AssertionError(
        f"{address} not in the plan: {[r['address'] for r in shown['resource_changes']]}"
    )


@pytest.fixture(scope="module")
def server(zips: None, terraform: str) -> Iterator[MotoServer]:
    with moto_server(log_dir=ROOT / "build") as running:
        yield running
    assert not is_alive(running.pid), "moto_server outlived the test module"


@pytest.fixture(scope="module")
def many_tables(server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Root:
    directory = copy_module_with_example(
        "many-tables", server, tmp_path_factory.mktemp("many-tables")
    )
    root = Root(directory, {"stream_view_type": "KEYS_ONLY"})
    root.init()
    return root


@pytest.fixture(scope="module")
def first_plan(many_tables: Root) -> tuple[Plan, dict[str, Any]]:
    """The plan before anything exists, saved: the apply test applies this very plan."""
    return many_tables.plan_json()


def test_first_plan_names_everything_though_every_arn_is_unknown(
    first_plan: tuple[Plan, dict[str, Any]],
) -> None:
    summary, plan = first_plan
    assert summary.rc == PLAN_HAS_CHANGES

    table = planned(plan, 'aws_dynamodb_table.this["orders"]')
    assert table["after_unknown"].get("stream_arn") is True, "the stream ARN should be unknown"

    names = {
        "module.orders.aws_lambda_function.this": ("function_name", "shop-orders-fanout"),
        'module.others["payments"].aws_lambda_function.this': (
            "function_name",
            "shop-payments-fanout",
        ),
        "module.orders.aws_sqs_queue.dlq": ("name", "shop-orders-fanout-dlq"),
        "module.orders.aws_sqs_queue.on_failure[0]": ("name", "shop-orders-fanout-on-failure"),
        "module.orders.aws_cloudwatch_event_bus.this[0]": ("name", "shop-orders-fanout-bus"),
        "module.orders.aws_iam_role.this[0]": ("name", "shop-orders-fanout-us-east-1"),
        "module.orders.aws_cloudwatch_log_group.this": ("name", "/aws/lambda/shop-orders-fanout"),
    }
    for address, (attribute, expected) in names.items():
        assert planned(plan, address)["after"][attribute] == expected, address

    # The first instance's policy names only plan-time ARNs: a reviewer reads it whole.
    policy = planned(plan, "module.orders.aws_iam_role_policy.this[0]")
    assert not policy["after_unknown"].get("policy"), "the policy should be known at plan"
    statements = {s["Sid"]: s for s in json.loads(policy["after"]["policy"])["Statement"]}
    assert statements["PublishToTheBus"]["Resource"] == [
        "arn:aws:events:us-east-1:123456789012:event-bus/shop-orders-fanout-bus"
    ]
    # Two rules, one queue: one policy; each instance's own queues have theirs (the
    # payments instance sends to the first's on-failure queue and has none of its own); the
    # second table publishes to the first's bus.
    queue_policies = sorted(a for a in changes(summary) if "aws_sqs_queue_policy" in a)
    assert queue_policies == [
        "module.orders.aws_sqs_queue_policy.dlq",
        "module.orders.aws_sqs_queue_policy.on_failure[0]",
        'module.orders.aws_sqs_queue_policy.target["billing"]',
        'module.others["payments"].aws_sqs_queue_policy.dlq',
    ]
    assert not any("others" in a and "event_bus" in a for a in changes(summary))
    # A queue's policy names its own function's role by plan-time values: a reviewer reads
    # it whole (the shared on-failure queue's names the other instance's role_arn output too,
    # known after apply).
    dlq = planned(plan, "module.orders.aws_sqs_queue_policy.dlq")
    assert not dlq["after_unknown"].get("policy"), "the DLQ policy should be known at plan"
    senders = json.loads(dlq["after"]["policy"])["Statement"][0]["Condition"]["ArnNotEquals"]
    assert senders["aws:PrincipalArn"] == [
        "arn:aws:iam::123456789012:role/shop-orders-fanout-us-east-1"
    ]


def client(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's dummy credentials
    )


def test_apply_then_nothing_left_to_change(
    many_tables: Root, first_plan: tuple[Plan, dict[str, Any]], server: MotoServer
) -> None:
    many_tables.apply_saved_plan()
    plan = many_tables.plan_changes()
    assert plan.rc == PLAN_NO_CHANGES, f"drift right after apply: {changes(plan)}"
    outputs = many_tables.outputs()
    assert outputs["event_bus_name"] == "shop-orders-fanout-bus"
    assert set(outputs["function_names"]) == {"orders", "payments"}
    payments = client(server, "lambda").get_function_configuration(
        FunctionName=outputs["function_names"]["payments"]
    )
    env = payments["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == "shop-orders-fanout-bus"
    assert env["EVENT_SOURCE"] == "dynamodb.shop-payments"
    assert env["PUBLISH_CONCURRENCY"] == "32"  # batch_size 1000 (the default) in one round
    mappings = client(server, "lambda").list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 2
    assert {m.get("StartingPosition") for m in mappings} == {"TRIM_HORIZON"}
    # The role each queue admits is the role each function runs with, as IAM names it.
    sqs = client(server, "sqs")
    for table, function in outputs["function_names"].items():
        role = client(server, "lambda").get_function_configuration(FunctionName=function)["Role"]
        url = outputs["dlq_urls"][table]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        statements = json.loads(attributes["Attributes"]["Policy"])["Statement"]
        senders = statements[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        assert senders in (role, [role]), (table, senders, role)
    # The shared on-failure queue admits both functions' roles, and no other.
    roles = sorted(
        client(server, "lambda").get_function_configuration(FunctionName=f)["Role"]
        for f in outputs["function_names"].values()
    )
    url = outputs["on_failure_queue_url"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    statements = json.loads(attributes["Attributes"]["Policy"])["Statement"]
    assert sorted(statements[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == roles


def test_the_shared_queue_admits_both_rules(many_tables: Root, server: MotoServer) -> None:
    sqs = client(server, "sqs")
    url = many_tables.output("billing_queue_url")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    sources = sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in policy["Statement"])
    assert sources == [
        "arn:aws:events:us-east-1:123456789012:rule/shop-orders-fanout-bus/shop-orders-fanout-order-paid",
        "arn:aws:events:us-east-1:123456789012:rule/shop-orders-fanout-bus/shop-orders-fanout-payment-settled",
    ]


def test_stream_view_change_replaces_only_the_mappings(many_tables: Root) -> None:
    changed = Root(
        many_tables.working_dir,
        {"stream_view_type": "NEW_AND_OLD_IMAGES"},
        state=many_tables.state,
    )
    plan = changed.plan_changes()
    assert plan.rc == PLAN_HAS_CHANGES
    gone = replaced(plan)
    stateful = {a: t for a, t in gone.items() if t in STATEFUL}
    assert not stateful, f"a stream change would replace stateful resources: {stateful}"
    assert set(gone.values()) <= MAY_BE_REPLACED, f"unexpected replacements: {gone}"
    touched = changes(plan)
    assert touched['aws_dynamodb_table.this["orders"]'] == ["update"]
    assert sorted(gone) == [
        "module.orders.aws_lambda_event_source_mapping.this[0]",
        'module.others["payments"].aws_lambda_event_source_mapping.this[0]',
    ]
    print(f"stream view change: {len(gone)} replaced ({sorted(gone)}); {len(touched)} changed")
    # Not applied: moto cannot re-enable a stream on a table (UpdateTable answers
    # ResourceInUseException), which AWS does.


# examples/local is applied (and so planned) by test_local_stack.py.
@pytest.mark.parametrize("example", ["complete", "existing-bus"])
def test_example_plans(
    example: str, server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = copy_module_with_example(example, server, tmp_path_factory.mktemp(example))
    if example == "complete":
        consumer = ROOT / "examples" / "complete" / "build" / "consumer.zip"
        (directory / "build").mkdir(exist_ok=True)
        shutil.copy(consumer, directory / "build" / "consumer.zip")
    root = Root(directory, {})
    root.init()
    plan = root.plan_changes()
    assert plan.rc == PLAN_HAS_CHANGES
    assert changes(plan)["module.fanout.aws_lambda_function.this"] == ["create"]
