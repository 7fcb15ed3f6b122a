"""Fixtures for the Terraform module checks: one shared `terraform init`, the zips the
configurations hash, one provider process for the commands that never configure it, and a
runner that fails with Terraform's own output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import shared_provider

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("complete", "existing-bus", "many-tables", "local", "ordered-bus")
FANOUT_ZIP = ROOT / "dist" / "fanout.zip"
CONSUMER_ZIP = ROOT / "examples" / "complete" / "build" / "consumer.zip"


@dataclass(frozen=True)
class Result:
    """A finished command."""

    args: list[str]
    returncode: int
    output: str

    def expect_success(self) -> str:
        if self.returncode != 0:
            pytest.fail(f"`{' '.join(self.args)}` exited {self.returncode}:\n{self.output}")
        return self.output


def tf_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for terraform: the repository's CLI config unless one is set."""
    env = dict(os.environ, **(extra or {}))
    env.setdefault("TF_CLI_CONFIG_FILE", str(ROOT / "build" / "terraformrc"))
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def run(
    args: list[str], cwd: Path, timeout: int = 600, env: dict[str, str] | None = None
) -> Result:
    """Run a command, output and errors together; env adds to terraform's environment."""
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=tf_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(args, proc.returncode, proc.stdout)


def _build_zip(source: Path, out: Path) -> None:
    run(
        [sys.executable, str(ROOT / "tools" / "package.py"), str(source), str(out)], ROOT
    ).expect_success()


# The module needs Terraform 1.5; its tests need 1.11: mock_provider with a `source`
# directory (1.7) and override_during = plan (1.11).
TESTS_NEED_TERRAFORM = (1, 11)


def terraform_version(path: str) -> tuple[int, int]:
    out = run([path, "version"], ROOT).expect_success()
    match = re.search(r"Terraform v(\d+)\.(\d+)", out)
    if match is None:
        pytest.fail(f"cannot read the Terraform version from: {out}")
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="session")
def terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not on PATH")
    version = terraform_version(path)
    if version < TESTS_NEED_TERRAFORM:
        pytest.fail(
            f"the module's tests need Terraform >= {'.'.join(map(str, TESTS_NEED_TERRAFORM))}"
            f" (mock providers with override_during); this is {'.'.join(map(str, version))}"
        )
    config = Path(tf_env()["TF_CLI_CONFIG_FILE"])
    if not config.exists():
        pytest.fail(f"{config} is missing: run `make tfrc` (or set TF_CLI_CONFIG_FILE)")
    return path


@pytest.fixture(scope="session")
def zips() -> None:
    """The zips filebase64sha256() reads: the handler's and the example consumer's."""
    if not FANOUT_ZIP.exists():
        _build_zip(ROOT / "lambda_src", FANOUT_ZIP)
    _build_zip(ROOT / "examples" / "complete" / "consumer", CONSUMER_ZIP)


@pytest.fixture(scope="session")
def module_init(terraform: str, zips: None) -> Path:
    """`terraform init` once at the module root, shared by validate and test."""
    run([terraform, "init", "-backend=false", "-input=false", "-no-color"], ROOT).expect_success()
    return ROOT


@pytest.fixture(scope="session")
def unconfigured_provider(module_init: Path) -> Iterator[dict[str, str]]:
    """The environment that points validate and mocked `terraform test` at one running
    provider (shared_provider.py), stopped when the session ends."""
    binary = shared_provider.provider_binary(module_init)
    if binary is None:
        pytest.fail(f"no aws provider under {module_init}/.terraform after terraform init")
    log = ROOT / "build" / f"shared-provider-{os.getpid()}.log"
    with shared_provider.serve(binary, log) as address:
        yield {"TF_REATTACH_PROVIDERS": address}


@pytest.fixture(scope="session")
def terraform_test_run(
    module_init: Path, terraform: str, unconfigured_provider: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    """Start `terraform test -json` of every test file in one process, at once; each
    file's test then waits for it and reads its own part (tftest_json.py)."""
    proc = subprocess.Popen(
        [terraform, "test", "-json"],
        cwd=module_init,
        env=tf_env(unconfigured_provider),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()
