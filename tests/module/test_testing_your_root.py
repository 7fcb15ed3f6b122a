"""docs/testing-your-root.md runs as the page shows it.

Its root (the README's Usage block with the table, queue and topic it names, and the
provider block for moto_server) and its `terraform test` file are copied from the page
into a new root, with the module's mock file copied where the page says, the module source
pointed at this checkout; the test file's `command = apply` run must pass. Every AWS service
whose resources that apply created must have an endpoint in the page's provider block: a
missing one sends those calls to AWS itself when the root is applied to moto_server.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT, Result, run

pytestmark = pytest.mark.module

PAGE = ROOT / "docs" / "testing-your-root.md"
HCL = re.compile(r"^```hcl\n(.*?)^```", re.MULTILINE | re.DOTALL)
SOURCE = re.compile(r'^(\s*source\s*=\s*)"git::[^"]+"(.*)$', re.MULTILINE)
# The provider's endpoint key for each resource type's prefix (the longest prefix wins).
SERVICES = {
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_log_group": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_dynamodb_": "dynamodb",
    "aws_iam_": "iam",
    "aws_lambda_": "lambda",
    "aws_s3_": "s3",
    "aws_schemas_": "schemas",
    "aws_sns_": "sns",
    "aws_sqs_": "sqs",
    "aws_caller_identity": "sts",
}
NO_ENDPOINT = {"aws_region", "aws_partition", "terraform_data"}  # answered without a call
RESOURCE_HEADER = re.compile(r'^\s*(?:resource|data) "(\w+)" "[^"]+" \{$', re.MULTILINE)


def page_block(first_line: str) -> str:
    blocks = [b for b in HCL.findall(PAGE.read_text(encoding="utf-8")) if b.startswith(first_line)]
    assert len(blocks) == 1, f"docs/testing-your-root.md has no single block starting {first_line}"
    return blocks[0]


def service(resource_type: str) -> str | None:
    if resource_type in NO_ENDPOINT:
        return None
    prefixes = [p for p in SERVICES if resource_type.startswith(p)]
    assert prefixes, f"which endpoint serves {resource_type}? Add it to SERVICES"
    return SERVICES[max(prefixes, key=len)]


def endpoints(root_text: str) -> set[str]:
    block = re.search(r"endpoints \{\n(.*?)\n  \}", root_text, re.DOTALL)
    assert block, "the page's provider block has no endpoints"
    return set(re.findall(r"^\s*(\w+)\s*=", block.group(1), re.MULTILINE))


def test_the_service_map() -> None:
    assert service("aws_cloudwatch_event_rule") == "events"
    assert service("aws_cloudwatch_metric_alarm") == "cloudwatch"
    assert service("aws_sns_topic") == "sns" and service("aws_region") is None
    assert endpoints('  endpoints {\n    sns = var.endpoint # x\n    sqs = "y"\n  }\n') == {
        "sns",
        "sqs",
    }


@pytest.fixture(scope="module")
def applied(
    tmp_path_factory: pytest.TempPathFactory,
    terraform: str,
    module_init: Path,
    unconfigured_provider: dict[str, str],
) -> tuple[str, Result]:
    """The page's root and test file in a new root; `terraform test -verbose` of it."""
    directory = tmp_path_factory.mktemp("testing-your-root")
    root_text = page_block("# main.tf")
    module_path = os.path.relpath(module_init, directory)
    local, count = SOURCE.subn(rf'\1"{module_path}"\2', root_text)
    assert count == 1, "the page's root should have one git:: module source"
    (directory / "main.tf").write_text(local, encoding="utf-8")
    (directory / "tests" / "mocks").mkdir(parents=True)
    (directory / "tests" / "fanout.tftest.hcl").write_text(
        page_block("# fanout.tftest.hcl"), encoding="utf-8"
    )
    shutil.copy(ROOT / "tests" / "mocks" / "aws.tfmock.hcl", directory / "tests" / "mocks")
    run([terraform, "init", "-input=false", "-no-color"], directory).expect_success()
    tested = run([terraform, "test", "-verbose", "-no-color"], directory, env=unconfigured_provider)
    return root_text, tested


def test_the_pages_mocked_test_applies_the_pages_root(applied) -> None:
    _, tested = applied
    assert tested.returncode == 0, tested.output
    assert 'run "orders_fan_out_to_billing"... pass' in tested.output, tested.output
    assert "command = apply" in page_block("# fanout.tftest.hcl")


def test_every_service_the_root_uses_has_an_endpoint(applied) -> None:
    root_text, tested = applied
    created = set(RESOURCE_HEADER.findall(tested.output))
    assert {"aws_sns_topic", "aws_sqs_queue", "aws_lambda_function"} <= created, created
    needed = {s for s in map(service, created) if s}
    missing = needed - endpoints(root_text)
    assert not missing, f"the page's provider block has no endpoint for {sorted(missing)}"
