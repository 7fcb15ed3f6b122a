"""docs/module.md and versions.tf stay true to the module."""

from __future__ import annotations

import re

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.module


def test_every_policy_statement_is_documented() -> None:
    sids = set(re.findall(r'Sid\s*=\s*"([A-Za-z0-9]+)"', (ROOT / "iam.tf").read_text("utf-8")))
    sids.discard("LambdaAssumesRole")  # the trust policy, documented in prose
    assert len(sids) >= 6
    docs = (ROOT / "docs" / "module.md").read_text("utf-8")
    missing = sorted(sid for sid in sids if f"`{sid}`" not in docs)
    assert not missing, f"policy statements missing from docs/module.md: {missing}"


def test_versions_have_lower_bounds_only() -> None:
    versions = (ROOT / "versions.tf").read_text("utf-8")
    constraints = re.findall(r'(?:required_version|version)\s*=\s*"([^"]+)"', versions)
    assert len(constraints) == 2, constraints
    assert all(c.startswith(">=") and "<" not in c and "~>" not in c for c in constraints)


def test_module_uses_only_the_aws_provider() -> None:
    sources = re.findall(r'source\s*=\s*"([^"]+)"', (ROOT / "versions.tf").read_text("utf-8"))
    assert sources == ["hashicorp/aws"]
    for path in ROOT.glob("*.tf"):
        text = path.read_text("utf-8")
        assert not re.search(r'(resource|data)\s+"(archive|null|random|local)_', text), path.name
        assert "aws_iam_role_policy_attachment" not in text, f"managed policy in {path.name}"
