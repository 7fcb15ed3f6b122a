"""Every test finds a Terraform CLI configuration, whatever ran before it.

`make tfrc` writes build/terraformrc (the local provider mirror when there is one);
a test run straight from pytest on a fresh clone has not run it. When the configured
file (TF_CLI_CONFIG_FILE) does not exist, the session writes its own with the same
script into a temporary directory and points TF_CLI_CONFIG_FILE at it, so that
Terraform started by any test, or by a process a test starts, installs providers
as `make` would. build/ is left alone.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY_CONFIG = ROOT / "build" / "terraformrc"
DEFAULT_MIRROR = "/opt/tf-plugins"  # the Makefile's TF_PROVIDER_MIRROR default


def terraform_cli_config(directory: Path) -> Path:
    """The configured file if it exists, else the repository's, else a new one."""
    configured = os.environ.get("TF_CLI_CONFIG_FILE", "")
    if configured and Path(configured).is_file():
        return Path(configured)
    if REPOSITORY_CONFIG.is_file():
        return REPOSITORY_CONFIG
    mirror = os.environ.get("TF_PROVIDER_MIRROR", DEFAULT_MIRROR)
    config = directory / "terraformrc"
    written = subprocess.run(
        ["bash", str(ROOT / "tools" / "terraformrc.sh"), mirror],
        capture_output=True,
        text=True,
        check=True,
    )
    config.write_text(written.stdout, encoding="utf-8")
    return config


@pytest.fixture(scope="session", autouse=True)
def terraform_cli_configuration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    previous = os.environ.get("TF_CLI_CONFIG_FILE")
    config = terraform_cli_config(tmp_path_factory.mktemp("terraform-cli"))
    os.environ["TF_CLI_CONFIG_FILE"] = str(config)
    yield config
    if previous is None:
        os.environ.pop("TF_CLI_CONFIG_FILE", None)
    else:
        os.environ["TF_CLI_CONFIG_FILE"] = previous
