"""The pre-commit hooks are the checks `make lint` and the module tests make, and they run."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_the_ecosystems_hooks_are_there() -> None:
    assert set(hooks()) == {
        "ruff",
        "ruff-format",
        "terraform-fmt",
        "docs-tables",
        "terraform-validate",
    }
    for hook in hooks().values():
        assert hook["language"] == "system", "hooks must work offline, with the pinned tools"


def test_the_docs_tables_hook_passes_on_the_repository() -> None:
    entry = shlex.split(hooks()["docs-tables"]["entry"])
    done = subprocess.run(entry, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_ruff_hooks_pass_on_the_repository() -> None:
    for hook in ("ruff", "ruff-format"):
        entry = [a for a in shlex.split(hooks()[hook]["entry"]) if a != "--fix"]
        check = ["--check"] if hook == "ruff-format" else []
        done = subprocess.run(
            [*entry, *check, "."], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
