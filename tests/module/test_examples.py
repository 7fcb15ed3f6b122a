"""Every example is a root that validates, uses the module as a user would, and says
what it takes and gives."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLES, ROOT, run

pytestmark = pytest.mark.module


@pytest.mark.parametrize("example", EXAMPLES)
def test_validate_example(example: str, terraform: str, zips: None) -> None:
    directory = ROOT / "examples" / example
    run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"], directory
    ).expect_success()
    run([terraform, "validate", "-no-color"], directory).expect_success()


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_layout(example: str) -> None:
    directory = ROOT / "examples" / example
    for name in ("main.tf", "outputs.tf", "README.md"):
        assert (directory / name).is_file(), f"examples/{example}/{name} is missing"
    assert 'source = "../../"' in (directory / "main.tf").read_text(encoding="utf-8")
