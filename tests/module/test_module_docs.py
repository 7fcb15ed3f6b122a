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


# The aws provider majors the module is tested on (5.x) or checked against (6.x, by its
# upgrade guide): docs/module.md, Provider versions.
AWS_RANGE = ">= 5.73, < 7.0"
VERSION = re.compile(r'^\s*(required_version|version)\s*=\s*"([^"]+)"', re.MULTILINE)


def test_versions_state_the_tested_range() -> None:
    constraints = dict(VERSION.findall((ROOT / "versions.tf").read_text("utf-8")))
    assert constraints == {"required_version": ">= 1.5", "version": AWS_RANGE}


@pytest.mark.parametrize(
    "example", sorted(p.parent.name for p in (ROOT / "examples").glob("*/versions.tf"))
)
def test_examples_require_what_the_module_requires(example: str) -> None:
    text = (ROOT / "examples" / example / "versions.tf").read_text("utf-8")
    assert dict(VERSION.findall(text)) == {"required_version": ">= 1.5", "version": AWS_RANGE}


def test_local_modules_require_what_the_module_requires() -> None:
    modules = sorted({p.parent for p in ROOT.glob("modules/*/*.tf")})
    assert modules, "no local module under modules/"
    for module in modules:
        versions = module / "versions.tf"
        assert versions.exists(), f"{module.name} has no versions.tf"
        constraints = dict(VERSION.findall(versions.read_text("utf-8")))
        assert constraints == {"required_version": ">= 1.5", "version": AWS_RANGE}, module.name


def test_docs_state_the_tested_range() -> None:
    docs = " ".join((ROOT / "docs" / "module.md").read_text("utf-8").split())
    assert f"`{AWS_RANGE}`" in docs
    assert "## Provider versions" in docs


# Attributes that provider 6.0 deprecates (its upgrade guide): `name` of the aws_region
# data source (use `id`, which 5.x has too) and `region` of S3 buckets (now the
# resource's own region argument; `bucket_region` is the bucket's).
DEPRECATED_IN_6 = re.compile(
    r"data\.aws_region\.\w+(\[[^\]]*\])?\.name\b|aws_s3_bucket\.\w+(\[[^\]]*\])?\.region\b"
)


def test_no_attribute_deprecated_in_aws_6() -> None:
    files = [*ROOT.glob("*.tf"), *ROOT.glob("modules/*/*.tf"), *ROOT.glob("examples/*/*.tf")]
    files += ROOT.glob("tests/*.tftest.hcl")
    used = {
        p.relative_to(ROOT).as_posix(): DEPRECATED_IN_6.search(p.read_text("utf-8")) for p in files
    }
    assert not {p: m.group(0) for p, m in used.items() if m}


def test_the_deprecation_reader_finds_the_forms() -> None:
    assert DEPRECATED_IN_6.search("region = data.aws_region.current.name")
    assert DEPRECATED_IN_6.search("data.aws_region.this[0].name")
    assert DEPRECATED_IN_6.search("aws_s3_bucket.large_events[0].region")
    assert not DEPRECATED_IN_6.search("region = data.aws_region.current.id")


def test_module_uses_only_the_aws_provider() -> None:
    for versions in [ROOT / "versions.tf", *ROOT.glob("modules/*/versions.tf")]:
        sources = re.findall(r'source\s*=\s*"([^"]+)"', versions.read_text("utf-8"))
        assert sources == ["hashicorp/aws"], versions
    for path in [*ROOT.glob("*.tf"), *ROOT.glob("modules/*/*.tf")]:
        text = path.read_text("utf-8")
        assert not re.search(r'(resource|data)\s+"(archive|null|random|local)_', text), path.name
        assert "aws_iam_role_policy_attachment" not in text, f"managed policy in {path.name}"


# Where users get the module: the URL they clone this repository from, which the docs
# cannot know, so every git URL they show is the same placeholder form.
GIT_URL = re.compile(r"git(?:::|\+)(?:https|ssh)://([^\s\"'`?@/]+@)?([^\s\"'`?@]+)")
REPOSITORY = "<host>/<owner>/dynamodb-stream-fanout.git"


def test_repository_urls_are_the_placeholder_a_user_fills_in() -> None:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(ROOT.glob("docs/*.md"))]
    pages += sorted(ROOT.glob("examples/*/README.md")) + sorted(ROOT.glob("examples/*/*.tf"))
    urls = {
        page.relative_to(ROOT).as_posix(): {m[1] for m in GIT_URL.findall(page.read_text("utf-8"))}
        for page in pages
    }
    assert urls["README.md"] and urls["docs/operations.md"], "the docs show where to get it"
    wrong = {page: found - {REPOSITORY} for page, found in urls.items() if found - {REPOSITORY}}
    assert not wrong, wrong
    assert not any("example.com" in page.read_text("utf-8") for page in pages)
