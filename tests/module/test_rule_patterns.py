"""A rule pattern EventBridge would reject for its shape fails `terraform plan`, naming the rule.

`terraform test` (tests/rules.tftest.hcl) proves which inputs are refused; this runs
the plan a user runs, in a root of their own, and reads the message they would read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ROOT, run

pytestmark = pytest.mark.module

ROOT_CONFIG = """
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "testing" # never used: the plan stops at validation
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
}

locals {
  stream = "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-05-01T00:00:00.000"
  paid   = { "detail-type" = ["MODIFY"], detail = { newImage = { status = ["PAID"] } } }
}

module "orders_fanout" {
  source              = %s
  dynamodb_stream_arn = local.stream
  table_name          = "Orders"
  rules = {
    paid     = { event_pattern = jsonencode(local.paid) }
    modified = { event_pattern = jsonencode({ "detail-type" = "MODIFY" }) }
    nothing  = { event_pattern = jsonencode({ source = [] }) }
    flat     = { event_pattern = jsonencode({ detail = { newImage = { status = "PAID" } } }) }
  }
}
"""


def test_plan_names_every_rule_whose_pattern_eventbridge_would_reject(
    terraform: str, tmp_path: Path
) -> None:
    (tmp_path / "main.tf").write_text(ROOT_CONFIG % json.dumps(str(ROOT)), encoding="utf-8")
    run([terraform, "init", "-input=false", "-no-color"], tmp_path).expect_success()
    plan = run([terraform, "plan", "-input=false", "-no-color"], tmp_path)
    assert plan.returncode == 1, plan.output
    message = " ".join(plan.output.split())  # Terraform wraps the message
    assert "Invalid value for variable" in message
    assert "var.rules" in message
    assert (
        "Rejected: rule flat at detail.newImage.status, rule modified at detail-type, "
        "rule nothing at source." in message
    ), message
    assert "paid" not in message.split("Rejected:")[1]
    assert "dynamodb-fanout check-pattern" in message
