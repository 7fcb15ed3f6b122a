"""The standing upgrade test: a root applied with earlier releases, moved to this tree.

One root on moto_server holds one module instance per earlier release, each built from
that release's commit (`git archive`: the exact files users have), and each with the
pieces that can lose data on an upgrade: a DLQ and an on-failure queue, a consumer queue
with a module-written policy, an archive, the event source mapping and, where the release
has it, the claim-check bucket. One more 0.1.0 instance reads a table whose name is over 43
characters, which 0.1.0 cut where later releases shorten it with a hash, and keeps an
archive, whose name 0.1.0 cut to 48 characters. After one apply the module sources are
switched to the working tree with the settings CHANGELOG.md's Migration section documents,
and the plan must replace nothing stateful, destroy no queue policy, apply, and then
re-plan clean.

The previous release (the newest in RELEASES) must upgrade with no change at all until
the working tree changes the module; then the test names what changes, as CHANGELOG.md's
Migration section will. A new release adds its commit to RELEASES and an instance to the
root (and its migration settings to the template).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from dynamodb_fanout.moto_stack import MotoServer, is_alive, moto_server
from localrun.tf import PLAN_HAS_CHANGES
from tests.e2e.conftest import copy_module_files
from tests.e2e.test_real_root import PROVIDER_OVERRIDE, Root, changes, planned, replaced
from tests.module.conftest import ROOT

pytestmark = pytest.mark.e2e

# Release -> commit: the releases' exact trees (0.1.0 and 0.2.0 were never tagged; a
# commit id also works in a clone made without tags).
RELEASES = {
    "v0.1.0": "1459ab9",
    "v0.2.0": "fa67e0d",
    "v0.3.0": "fa10171",
    "v0.4.0": "c6008b6d7c83b7150f273269e14a2de2cf0f78c5",
}

# Replacing any of these loses parked messages, logs, stored events or history, or
# (the mapping) re-reads the stream and duplicates every event.
MUST_STAY = {
    "aws_sqs_queue",
    "aws_cloudwatch_log_group",
    "aws_lambda_function",
    "aws_cloudwatch_event_bus",
    "aws_cloudwatch_event_archive",
    "aws_cloudwatch_event_rule",
    "aws_lambda_event_source_mapping",
    "aws_s3_bucket",
    "aws_iam_role",
    "aws_dynamodb_table",
}
# Module instance -> the release it was applied with.
INSTANCES = {"from_" + release.replace(".", "_"): release for release in RELEASES}
INSTANCES["from_v0_1_0_long"] = "v0.1.0"
# The instances of releases before 0.4.0, which 0.4.0's changes reach.
BEFORE_V0_4_0 = {instance for instance, release in INSTANCES.items() if release != "v0.4.0"}
# Over 43 characters, with capitals: 0.1.0 named everything (the role too) after its first
# 43 characters; later releases use 34 of them and a hash of the whole name.
LONG_TABLE = "UpgLedgerEntriesOfTheEuropeanSubsidiaryInProduction"
LONG_V0_1_0_NAME = LONG_TABLE[:43] + "-fanout"
LONG_V0_1_0_ARCHIVE = (LONG_V0_1_0_NAME + "-archive")[:48]
SERVICES = ("cloudwatch", "dynamodb", "events", "iam", "lambda", "logs", "s3", "sqs", "sts")

TABLES = """
resource "aws_dynamodb_table" "this" {
  for_each = toset(["legacy", "orders", "recent", "current"])

  name             = "upg-${each.key}"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }
}

resource "aws_dynamodb_table" "long" {
  name             = "<LONG_TABLE>"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }
}

resource "aws_sqs_queue" "consumer" {
  for_each = toset(["legacy", "orders", "recent", "current"])

  name                    = "upg-${each.key}-consumer"
  sqs_managed_sse_enabled = true
}
""".replace("<LONG_TABLE>", LONG_TABLE)


def instance_block(instance: str, table: str, settings: str = "") -> str:
    """A module block of the root: its release's files, a table's stream, an archive, a rule
    with a consumer queue, and the release's own settings; `%s` is where `migrated` puts the
    Migration settings."""
    return f"""
module "{instance}" {{
  source = "./modules/{instance}"

  dynamodb_stream_arn = aws_dynamodb_table.this["{table}"].stream_arn
  archive             = {{ retention_days = 1 }}
{settings}  rules = {{
    paid = {{
      event_pattern = jsonencode({{ "detail-type" = ["MODIFY"] }})
      targets = {{
        consumer = {{
          arn = aws_sqs_queue.consumer["{table}"].arn, type = "sqs", create_permission = true
        }}
      }}
    }}
  }}
%s}}
"""


# The release each instance was applied with; `migrated` adds the Migration settings.
FROM_V0_1_0 = instance_block("from_v0_1_0", "legacy")
V0_1_0_MIGRATION = """
  # CHANGELOG.md, Migration (upgrading from 0.1.0).
  table_name     = aws_dynamodb_table.this["legacy"].name
  event_bus_name = "fanoutBus"
  role_name      = "upg-legacy-fanout"
"""
V0_1_0_MOVED = """
moved {
  from = module.from_v0_1_0.aws_sqs_queue_policy.target["paid/consumer"]
  to   = module.from_v0_1_0.aws_sqs_queue_policy.target["consumer"]
}
"""

# A rule and an archive on its own bus (0.1.0's default bus, fanoutBus, is the other
# instance's): the names that 0.1.0 derived from a long table name.
FROM_V0_1_0_LONG = """
module "from_v0_1_0_long" {
  source = "./modules/from_v0_1_0_long"

  dynamodb_stream_arn = aws_dynamodb_table.long.stream_arn
  event_bus_name      = "upg-long-bus"
  rules = {
    paid = { event_pattern = jsonencode({ "detail-type" = ["MODIFY"] }) }
  }
%s}
"""
V0_1_0_LONG_ARCHIVE = """
  archive = { retention_days = 1 }
"""
V0_1_0_LONG_MIGRATION = """
  # CHANGELOG.md, Migration (upgrading from 0.1.0), for a table name over 43 characters
  # and an archive: the names 0.1.0 gave, computed as that section says.
  table_name = aws_dynamodb_table.long.name
  name       = "${substr(replace(aws_dynamodb_table.long.name, ".", "-"), 0, 43)}-fanout"
  role_name  = "<NAME>"
  archive    = { retention_days = 1, name = "<ARCHIVE>" }
""".replace("<NAME>", LONG_V0_1_0_NAME).replace("<ARCHIVE>", LONG_V0_1_0_ARCHIVE)

FROM_V0_2_0 = instance_block(
    "from_v0_2_0",
    "orders",
    """  table_name                = aws_dynamodb_table.this["orders"].name
  create_large_event_bucket = true
""",
)
V0_2_0_MIGRATION = """
  # CHANGELOG.md, Migration (upgrading from 0.2.0).
"""

FROM_V0_3_0 = instance_block(
    "from_v0_3_0",
    "recent",
    """  table_name                = aws_dynamodb_table.this["recent"].name
  create_large_event_bucket = true
  throttling_alarm_minutes  = 5
""",
)
V0_3_0_MIGRATION = """
  # Nothing has to change from 0.3.0. docs/module.md (Failed batches in a bucket): an
  # installed instance switches its on-failure destination to a bucket, keeping the queue.
  on_failure_bucket = { create = true }
"""
FROM_V0_4_0 = instance_block(
    "from_v0_4_0",
    "current",
    """  table_name                = aws_dynamodb_table.this["current"].name
  create_large_event_bucket = true
  on_failure_bucket         = { create = true }
""",
)
V0_4_0_MIGRATION = """
  # Nothing has to change from 0.4.0.
"""


def release_files(commit: str, into: Path) -> None:
    """The module's files at a release commit: its .tf files and its committed zip."""
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "--", "*.tf", "dist/fanout.zip"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        pytest.fail(
            f"the upgrade test needs release commit {commit} in this clone's history"
            f" (`git archive` said: {exc.stderr.decode().strip()}). A shallow clone lacks it:"
            " run `git fetch --unshallow` (CI: check out with full history)."
        )
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


# docs/module.md, Upgrading: renaming a module block needs a moved block, or every
# resource of the instance (its DLQ and parked messages too) is destroyed and re-created.
RENAMED = 'module "recent" {'
RENAME_MOVED = """
moved {
  from = module.from_v0_3_0
  to   = module.recent
}
"""


def write_root(directory: Path, server: MotoServer, migrated: bool, renamed: bool = False) -> None:
    endpoints = "\n".join(f'    {s:<10} = "{server.endpoint}"' for s in SERVICES)
    provider = PROVIDER_OVERRIDE.replace(
        "skip_region_validation      = true",
        "skip_region_validation      = true\n  s3_use_path_style           = true",
    )
    text = "\n".join(
        [
            provider % endpoints,
            TABLES,
            FROM_V0_1_0 % (V0_1_0_MIGRATION if migrated else ""),
            FROM_V0_1_0_LONG % (V0_1_0_LONG_MIGRATION if migrated else V0_1_0_LONG_ARCHIVE),
            FROM_V0_2_0 % (V0_2_0_MIGRATION if migrated else ""),
            FROM_V0_3_0 % (V0_3_0_MIGRATION if migrated else ""),
            FROM_V0_4_0 % (V0_4_0_MIGRATION if migrated else ""),
            V0_1_0_MOVED if migrated else "",
        ]
    )
    if renamed:
        text = text.replace('module "from_v0_3_0" {', RENAMED) + RENAME_MOVED
    (directory / "main.tf").write_text(text, encoding="utf-8")


def as_aws_would_store_it(directory: Path) -> None:
    """Give queue policies the queue URL AWS would have returned to the old release.

    0.1.0 looked the queue URL up (GetQueueUrl); AWS answers
    https://sqs.<region>.amazonaws.com/<account>/<name>, which is the URL later releases
    build from the ARN, but moto answers with its own host. Without this the plan would
    replace each 0.1.0 policy only because moto's URL differs from AWS's. Policies that take
    the URL from the queue resource (the DLQ's since 0.4.0) keep what moto answered.
    """
    path = directory / "terraform.tfstate"
    state = json.loads(path.read_text(encoding="utf-8"))
    looked_up = {f"module.{i}" for i, release in INSTANCES.items() if release == "v0.1.0"}
    for resource in state["resources"]:
        if resource["type"] != "aws_sqs_queue_policy" or resource.get("module") not in looked_up:
            continue
        for instance in resource["instances"]:
            attributes = instance["attributes"]
            account, name = attributes["queue_url"].split("/")[-2:]
            url = f"https://sqs.us-east-1.amazonaws.com/{account}/{name}"
            attributes["queue_url"] = attributes["id"] = url
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")


def switch_to_working_tree(directory: Path) -> None:
    for instance in INSTANCES:
        module = directory / "modules" / instance
        shutil.rmtree(module)
        copy_module_files(module)  # the module as it is in this checkout


@pytest.fixture(scope="module")
def server(zips: None, terraform: str) -> Any:
    with moto_server(log_dir=ROOT / "build") as running:
        yield running
    assert not is_alive(running.pid), "moto_server outlived the test module"


@pytest.fixture(scope="module")
def upgraded(server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Apply with the releases, switch to the working tree: the plan, and the root."""
    directory = tmp_path_factory.mktemp("upgrade")
    for instance, release in INSTANCES.items():
        release_files(RELEASES[release], directory / "modules" / instance)
    write_root(directory, server, migrated=False)
    root = Root(directory, {})
    root.init()
    root.apply()
    as_aws_would_store_it(directory)
    switch_to_working_tree(directory)
    write_root(directory, server, migrated=True)
    root.init()
    plan, shown = root.plan_json()  # shown: every attribute before and after
    return {"root": root, "plan": plan, "shown": shown}


def client(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's dummy credentials
    )


def test_upgrade_replaces_nothing_stateful(upgraded: dict[str, Any]) -> None:
    assert upgraded["plan"].rc == PLAN_HAS_CHANGES
    gone = replaced(upgraded["plan"])
    stateful = {a: t for a, t in gone.items() if t in MUST_STAY}
    assert not stateful, f"the upgrade would replace: {stateful}"
    print(f"upgrade plan: {changes(upgraded['plan'])}")


def test_upgrade_destroys_no_queue_policy(upgraded: dict[str, Any]) -> None:
    policies = {
        address: actions
        for address, actions in changes(upgraded["plan"]).items()
        if ".aws_sqs_queue_policy." in address or ".aws_sns_topic_policy." in address
    }
    assert all("delete" not in actions for actions in policies.values()), policies
    # The 0.1.0 policy moved to its new key (the root's moved block): updated in place. Every
    # instance's DLQ and on-failure queue get their policy (only the function's role sends).
    own = {
        f"module.{instance}.aws_sqs_queue_policy.{queue}": ["create"]
        for instance in BEFORE_V0_4_0
        for queue in ("dlq", "on_failure[0]")
    }
    assert (
        policies == {'module.from_v0_1_0.aws_sqs_queue_policy.target["consumer"]': ["update"]} | own
    ), policies


def test_upgrade_from_the_previous_release_changes_only_what_it_adds(
    upgraded: dict[str, Any],
) -> None:
    touched = {
        address: actions
        for address, actions in changes(upgraded["plan"]).items()
        if address.startswith("module.from_v0_2_0.")
    }
    # The trust policy gains aws:SourceAccount; the function gains the mapping's limits in
    # its environment (the safety valve) and a throttling alarm is new; the TLS-only bucket
    # policy and the bucket's name record are new; the bucket stops deleting its events on
    # destroy (force_destroy true -> false). All in place, as CHANGELOG.md's Migration (from
    # 0.2.0) says; the bucket's resources are at their addresses in its module (moved.tf).
    # Then what 0.4.0 changed (IN_V0_4_0) and this tree changes (UNRELEASED).
    bucket = "module.from_v0_2_0.module.large_event_bucket[0]"
    assert touched == {
        "module.from_v0_2_0.aws_cloudwatch_metric_alarm.throttling[0]": ["create"],
        "module.from_v0_2_0.aws_iam_role.this[0]": ["update"],
        f"{bucket}.aws_s3_bucket.this": ["update"],
        f"{bucket}.aws_s3_bucket_policy.this[0]": ["create"],
        f"{bucket}.terraform_data.name": ["create"],
    } | since("from_v0_2_0"), touched


# What the working tree changes since the newest release (CHANGELOG.md, Unreleased), on an
# instance of the newest release with its defaults: every action in place or new.
UNRELEASED: dict[str, list[str]] = {}
# What 0.4.0 changed for an instance of an earlier release with its defaults.
IN_V0_4_0 = {
    # maximum_retry_attempts 10 -> -1: the mapping and the function's MAXIMUM_RETRY_ATTEMPTS.
    "aws_lambda_event_source_mapping.this[0]": ["update"],
    "aws_lambda_function.this": ["update"],
    # Only the function's role sends to the module's queues, over TLS only.
    "aws_sqs_queue_policy.dlq": ["create"],
    "aws_sqs_queue_policy.on_failure[0]": ["create"],
}
# With a claim-check bucket: the function's S3 statements name its own table's objects and
# the bucket's owner (the function also gains LARGE_EVENT_BUCKET_OWNER: updated above).
IN_V0_4_0_CLAIM_CHECK = {"aws_iam_role_policy.claim_check[0]": ["update"]}
WITH_CLAIM_CHECK = {"from_v0_2_0", "from_v0_3_0"}


def since(instance: str) -> dict[str, list[str]]:
    """What an instance's upgrade changes: what 0.4.0 changed if older, and UNRELEASED."""
    expected = dict(UNRELEASED)
    if instance in BEFORE_V0_4_0:
        expected |= IN_V0_4_0 | (IN_V0_4_0_CLAIM_CHECK if instance in WITH_CLAIM_CHECK else {})
    return {f"module.{instance}.{address}": actions for address, actions in expected.items()}


# The 0.3.0 instance also switches its on-failure destination to a bucket.
SWITCH_TO_BUCKET = {
    f"module.from_v0_3_0.module.on_failure_bucket[0].{address}": ["create"]
    for address in (
        "aws_s3_bucket.this",
        "aws_s3_bucket_lifecycle_configuration.this",
        "aws_s3_bucket_policy.this[0]",
        "aws_s3_bucket_public_access_block.this",
        "aws_s3_bucket_server_side_encryption_configuration.this",
        "terraform_data.name",
    )
} | {
    # The role's grant moves from the queue to the bucket.
    "module.from_v0_3_0.aws_iam_role_policy.this[0]": ["update"],
}


def test_the_previous_release_upgrades_with_only_the_unreleased_changes(
    upgraded: dict[str, Any],
) -> None:
    newest = max(RELEASES, key=lambda r: tuple(int(n) for n in r[1:].split(".")))
    (previous,) = (instance for instance, release in INSTANCES.items() if release == newest)
    touched = {
        address: actions
        for address, actions in changes(upgraded["plan"]).items()
        if address.startswith(f"module.{previous}.")
    }
    assert touched == since(previous), touched


def test_upgrade_from_0_3_0_changes_only_what_0_4_0_adds(upgraded: dict[str, Any]) -> None:
    touched = {
        address: actions
        for address, actions in changes(upgraded["plan"]).items()
        if address.startswith("module.from_v0_3_0.")
    }
    assert touched == since("from_v0_3_0") | SWITCH_TO_BUCKET, touched


def test_switching_to_the_bucket_keeps_the_queue(upgraded: dict[str, Any]) -> None:
    # Nothing of the queue changes but its new policy (every instance gets one).
    for address in (
        "module.from_v0_3_0.aws_sqs_queue.on_failure[0]",
        "module.from_v0_3_0.aws_cloudwatch_metric_alarm.on_failure_messages[0]",
    ):
        assert address not in changes(upgraded["plan"]), changes(upgraded["plan"])[address]
    destination = planned(
        upgraded["shown"], "module.from_v0_3_0.aws_lambda_event_source_mapping.this[0]"
    )
    (before,) = destination["before"]["destination_config"]
    assert before["on_failure"][0]["destination_arn"].endswith(":upg-recent-fanout-on-failure")
    policy = planned(upgraded["shown"], "module.from_v0_3_0.aws_iam_role_policy.this[0]")
    before = {s["Sid"] for s in json.loads(policy["before"]["policy"])["Statement"]}
    after = {s["Sid"] for s in json.loads(policy["after"]["policy"])["Statement"]}
    assert before - after == {"SendBatchMetadataOnFailure"}, (before, after)
    assert after - before == {"WriteFailedBatchesToBucket", "ListFailedBatchesBucket"}


def test_claim_check_policies_name_the_tables_objects_and_the_owner(
    upgraded: dict[str, Any],
) -> None:
    for instance in WITH_CLAIM_CHECK:
        change = planned(upgraded["shown"], f"module.{instance}.aws_iam_role_policy.claim_check[0]")
        (before,) = json.loads(change["before"]["policy"])["Statement"]
        (after,) = json.loads(change["after"]["policy"])["Statement"]
        assert before["Resource"][0].endswith("/large-events/*"), before
        table = "upg-orders" if instance == "from_v0_2_0" else "upg-recent"
        assert after["Resource"] == [before["Resource"][0][: -len("*")] + f"{table}/*"], after
        assert after["Condition"] == {"StringEquals": {"s3:ResourceAccount": "123456789012"}}


# moved.tf: the claim-check bucket's resources, from their addresses in 0.2.0 and 0.3.0 to
# the bucket's module (modules/private_bucket). 0.2.0 had no bucket policy nor name record.
CLAIM_CHECK_MOVES = {
    "aws_s3_bucket.large_events[0]": "aws_s3_bucket.this",
    "aws_s3_bucket_public_access_block.large_events[0]": "aws_s3_bucket_public_access_block.this",
    "aws_s3_bucket_server_side_encryption_configuration.large_events[0]": (
        "aws_s3_bucket_server_side_encryption_configuration.this"
    ),
    "aws_s3_bucket_lifecycle_configuration.large_events[0]": (
        "aws_s3_bucket_lifecycle_configuration.this"
    ),
    "aws_s3_bucket_policy.large_events[0]": "aws_s3_bucket_policy.this[0]",
    "terraform_data.large_event_bucket_name[0]": "terraform_data.name",
}
SINCE_0_3_0 = {"aws_s3_bucket_policy.large_events[0]", "terraform_data.large_event_bucket_name[0]"}


def test_the_claim_check_bucket_moves_into_its_module(upgraded: dict[str, Any]) -> None:
    # The plan names a moved resource by its new address, with the old one beside it.
    for instance in WITH_CLAIM_CHECK:
        moves = {
            rc["previous_address"]: (rc["address"], rc["change"]["actions"])
            for rc in upgraded["shown"]["resource_changes"]
            if rc.get("previous_address", "").startswith(f"module.{instance}.")
        }
        bucket = f"module.{instance}.module.large_event_bucket[0]"
        expected = {
            f"module.{instance}.{old}": (f"{bucket}.{new}", ["no-op"])
            for old, new in CLAIM_CHECK_MOVES.items()
            if instance != "from_v0_2_0" or old not in SINCE_0_3_0
        }
        if instance == "from_v0_2_0":  # force_destroy true -> false, in place (see above)
            expected[f"module.{instance}.aws_s3_bucket.large_events[0]"] = (
                f"{bucket}.aws_s3_bucket.this",
                ["update"],
            )
        assert moves == expected, moves


def test_the_retry_default_changes_the_mapping_in_place(upgraded: dict[str, Any]) -> None:
    for instance in BEFORE_V0_4_0:
        address = f"module.{instance}.aws_lambda_event_source_mapping.this[0]"
        change = planned(upgraded["shown"], address)
        assert change["actions"] == ["update"], (address, change["actions"])
        assert change["before"]["maximum_retry_attempts"] == 10, address
        assert change["after"]["maximum_retry_attempts"] == -1, address


def test_upgraded_root_applies_and_replans_clean(
    upgraded: dict[str, Any], server: MotoServer
) -> None:
    root = upgraded["root"]
    root.apply_saved_plan()  # the plan the tests above read
    # The re-plan also renames the 0.3.0 instance's module block, with the moved block
    # docs/module.md shows: its resources move, and nothing anywhere changes.
    write_root(root.working_dir, server, migrated=True, renamed=True)
    root.init()  # a module block of a new name is installed again
    plan = root.plan_changes()
    assert changes(plan) == {}, f"drift after the upgrade: {changes(plan)}"
    moved = {a for a in plan.actions if a.startswith("module.recent.")}
    assert "module.recent.aws_sqs_queue.dlq" in moved, sorted(plan.actions)
    assert not any(a.startswith("module.from_v0_3_0.") for a in plan.actions)
    sqs = client(server, "sqs")
    for table in ("legacy", "orders", "recent", "current"):
        url = sqs.get_queue_url(QueueName=f"upg-{table}-consumer")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        policy = json.loads(attributes["Attributes"]["Policy"])
        assert [s["Action"] for s in policy["Statement"]] == ["sqs:SendMessage"], table
    mappings = client(server, "lambda").list_event_source_mappings()["EventSourceMappings"]
    positions = {m["FunctionArn"].rsplit(":", 1)[-1]: m["StartingPosition"] for m in mappings}
    assert positions == {
        "upg-legacy-fanout": "LATEST",
        LONG_V0_1_0_NAME: "LATEST",
        "upg-orders-fanout": "TRIM_HORIZON",
        "upg-recent-fanout": "TRIM_HORIZON",
        "upg-current-fanout": "TRIM_HORIZON",
    }
    # The 0.3.0 instance sends failed batches to its new bucket; its queue is still there.
    (recent,) = (m for m in mappings if m["FunctionArn"].endswith(":upg-recent-fanout"))
    destination = recent["DestinationConfig"]["OnFailure"]["Destination"]
    digest = hashlib.sha1(b"upg-recent-fanout").hexdigest()[:6]  # <name, 16>-<hash of name>
    bucket = f"upg-recent-fanou-{digest}-failed-123456789012-us-east-1"
    assert destination == f"arn:aws:s3:::{bucket}", destination
    assert sqs.get_queue_url(QueueName="upg-recent-fanout-on-failure")["QueueUrl"]
    # The long-named instance kept the names 0.1.0 gave it, its archive's included.
    events = client(server, "events")
    archive = events.describe_archive(ArchiveName=LONG_V0_1_0_ARCHIVE)
    assert archive["EventSourceArn"].endswith(":event-bus/upg-long-bus"), archive
    assert archive["RetentionDays"] == 1
    rules = {r["Name"] for r in events.list_rules(EventBusName="upg-long-bus")["Rules"]}
    # EventBridge keeps an archive's own rule, Events-Archive-<archive name>, on the bus.
    assert rules == {f"{LONG_V0_1_0_NAME}-paid", f"Events-Archive-{LONG_V0_1_0_ARCHIVE}"}
    assert client(server, "iam").get_role(RoleName=LONG_V0_1_0_NAME)["Role"]["RoleName"]
