"""Every example is a root that validates, uses the module as a user would, and says
what it takes and gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools import readme_tables

from .conftest import EXAMPLES, ROOT, run

pytestmark = pytest.mark.module


@pytest.mark.parametrize("example", EXAMPLES)
def test_validate_example(
    example: str, terraform: str, zips: None, unconfigured_provider: dict[str, str]
) -> None:
    directory = ROOT / "examples" / example
    run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"], directory
    ).expect_success()
    run([terraform, "validate", "-no-color"], directory, env=unconfigured_provider).expect_success()


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_layout(example: str) -> None:
    directory = ROOT / "examples" / example
    for name in ("main.tf", "outputs.tf", "README.md"):
        assert (directory / name).is_file(), f"examples/{example}/{name} is missing"
    assert 'source = "../../"' in (directory / "main.tf").read_text(encoding="utf-8")


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_readme_has_its_tables_and_says_what_apply_costs(example: str) -> None:
    root = ROOT / "examples" / example
    assert readme_tables.main(["--check", "--root", str(root), "README.md"]) == 0, "make docs"
    text = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    assert "billable" in text, "say whether apply creates billable resources"
    assert "destroy" in text and "terraform" in text, "say how to destroy what apply created"


def test_make_docs_writes_the_examples_tables_too() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(PY) -m tools.readme_tables --write --examples" in makefile


def test_the_complete_example_builds_its_consumer_with_the_standard_library_alone(
    tmp_path: Path,
) -> None:
    """The README's build line runs without the virtual environment's packages (-S: no
    site-packages), as on a machine that never ran `make venv`."""
    readme = (ROOT / "examples" / "complete" / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if line.startswith("python3 ")]
    assert len(lines) == 1 and "tools/package.py consumer" in lines[0], lines
    assert "make -C ../.. venv" not in readme
    args = lines[0].split("#")[0].split()[1:]
    args[-1] = str(tmp_path / "consumer.zip")
    proc = subprocess.run(
        [sys.executable, "-I", "-S", *args],
        cwd=ROOT / "examples" / "complete",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "consumer.zip").stat().st_size > 0
