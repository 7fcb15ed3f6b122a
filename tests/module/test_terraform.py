"""fmt, validate and the `terraform test` suite of the module, from pytest (the examples:
test_examples.py, so the two can run side by side)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from . import tftest_json
from .conftest import ROOT, run

pytestmark = pytest.mark.module

TEST_FILES = sorted(p.name for p in (ROOT / "tests").glob("*.tftest.hcl"))


def test_there_are_terraform_tests() -> None:
    assert {"defaults.tftest.hcl", "iam.tftest.hcl", "validation.tftest.hcl"} <= set(TEST_FILES)


def test_fmt(terraform: str) -> None:
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color"], ROOT)
    assert result.returncode == 0, f"terraform fmt would change files:\n{result.output}"


def test_validate_module(
    module_init: Path, terraform: str, unconfigured_provider: dict[str, str]
) -> None:
    run(
        [terraform, "validate", "-no-color"], module_init, env=unconfigured_provider
    ).expect_success()


@pytest.fixture(scope="module")
def terraform_test_reports(
    terraform_test_run: subprocess.Popen[str],
) -> tuple[int, dict[str, tftest_json.FileReport], list[str]]:
    output, _ = terraform_test_run.communicate(timeout=900)
    files, general = tftest_json.parse(output)
    return terraform_test_run.returncode, files, general


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_terraform_test(
    test_file: str,
    terraform_test_reports: tuple[int, dict[str, tftest_json.FileReport], list[str]],
) -> None:
    _, files, general = terraform_test_reports
    report = files.get(f"tests/{test_file}")
    assert report is not None, f"terraform test did not run {test_file}:\n" + "\n".join(general)
    said = "\n".join(report.messages)
    assert report.status == "pass", f"terraform test {test_file}: {report.status}\n{said}"
    assert report.runs, f"{test_file} has no run blocks"
    failed = {run: status for run, status in report.runs.items() if status != "pass"}
    assert not failed, f"runs of {test_file} that did not pass: {failed}\n{said}"


def test_terraform_test_passed_as_a_whole(
    terraform_test_reports: tuple[int, dict[str, tftest_json.FileReport], list[str]],
) -> None:
    returncode, files, general = terraform_test_reports
    assert sorted(files) == [f"tests/{name}" for name in TEST_FILES]
    failing = sorted(path for path, report in files.items() if report.status != "pass")
    assert returncode == 0, f"terraform test exited {returncode}; failing: {failing}\n" + "\n".join(
        general
    )
