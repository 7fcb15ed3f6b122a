"""What the end-to-end tests share.

A SIGTERM to pytest unwinds like Ctrl-C, so a stack fixture still stops moto_server.
Each test applies a copy of the module with its example below it, as in the
repository, so that it never shares an example's .terraform/ with another run (the
demo, `terraform validate` of the examples) and the tests can run side by side.
The real-root test shares the module checks' fixtures: the terraform binary
(version checked) and the zips the configurations hash.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.module.conftest import ROOT, terraform, zips

__all__ = ["copy_module", "copy_module_files", "terraform", "zips"]  # fixtures are found by name


def copy_module_files(into: Path) -> None:
    """The module as a `git::` source gives it: the root's .tf files, its local modules'
    (modules/<name>/*.tf) and the zip."""
    (into / "dist").mkdir(parents=True, exist_ok=True)
    for path in [*ROOT.glob("*.tf"), *ROOT.glob("modules/*/*.tf")]:
        target = into / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    shutil.copy(ROOT / "dist" / "fanout.zip", into / "dist" / "fanout.zip")


def copy_module(example: str, into: Path) -> Path:
    """The module (copy_module_files) and one example below it; the example's copy."""
    module = into / "module"
    copy_module_files(module)
    target = module / "examples" / example
    shutil.copytree(
        ROOT / "examples" / example,
        target,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "build"),
    )
    return target


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session", autouse=True)
def sigterm_unwinds():
    previous = signal.signal(signal.SIGTERM, _interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)
