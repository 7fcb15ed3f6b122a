"""Tests find a Terraform CLI configuration without `make tfrc` having run (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_config_is_written_with_the_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io").mkdir(parents=True)
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(mirror))
    monkeypatch.setattr(conftest, "REPOSITORY_CONFIG", tmp_path / "no-build" / "terraformrc")
    config = conftest.terraform_cli_config(tmp_path)
    assert config == tmp_path / "terraformrc"
    assert f'path    = "{mirror}"' in config.read_text()


def test_an_existing_config_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine.tfrc"
    mine.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(mine))
    assert conftest.terraform_cli_config(tmp_path / "unused") == mine


def test_terraform_in_a_test_sees_a_config_that_exists() -> None:
    """Whatever the caller's environment said, the session's config is a real file."""
    probe = "import os, pathlib; print(pathlib.Path(os.environ['TF_CLI_CONFIG_FILE']).is_file())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
