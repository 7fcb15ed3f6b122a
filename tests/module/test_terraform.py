"""fmt, validate and the `terraform test` suite of the module, from pytest (the examples:
test_examples.py, so the two can run side by side)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, run

pytestmark = pytest.mark.module

TEST_FILES = sorted(p.name for p in (ROOT / "tests").glob("*.tftest.hcl"))


def test_there_are_terraform_tests() -> None:
    assert {"defaults.tftest.hcl", "iam.tftest.hcl", "validation.tftest.hcl"} <= set(TEST_FILES)


def test_fmt(terraform: str) -> None:
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color"], ROOT)
    assert result.returncode == 0, f"terraform fmt would change files:\n{result.output}"


def test_validate_module(module_init: Path, terraform: str) -> None:
    run([terraform, "validate", "-no-color"], module_init).expect_success()


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_terraform_test(
    test_file: str, terraform_test_runs: dict[str, subprocess.Popen[str]]
) -> None:
    proc = terraform_test_runs[f"tests/{test_file}"]
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"terraform test {test_file} failed:\n{output}"
    summary = re.search(r"Success! (\d+) passed, 0 failed", output)
    assert summary, f"no success summary in:\n{output}"
    assert int(summary.group(1)) > 0
    assert " skip" not in output, f"skipped runs in {test_file}:\n{output}"
