"""A bare `make` lists every target and every variable a command line may set."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
BUILT_IN = {"MAKE", "MAKEFILE_LIST", "CURDIR"}


def help_text() -> str:
    return subprocess.run(
        ["make", "--no-print-directory", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def settable_variables() -> set[str]:
    """`NAME ?= default`, and names recipes use that the Makefile never assigns."""
    defaulted = set(re.findall(r"^([A-Z][A-Z0-9_]*) \?=", MAKEFILE, re.MULTILINE))
    assigned = set(re.findall(r"^(?:export )?([A-Z][A-Z0-9_]*) [:+?]?=", MAKEFILE, re.MULTILINE))
    recipes = "\n".join(line for line in MAKEFILE.splitlines() if line.startswith("\t"))
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", recipes))
    return defaulted | (used - assigned - BUILT_IN)


def test_the_reader_finds_the_variables_users_set() -> None:
    assert {"EVENT", "DEMO_ARGS", "INVOKE_ARGS", "BENCH_ARGS", "XDIST"} <= settable_variables()
    assert "PY" not in settable_variables() and "VENV" not in settable_variables()


def test_help_lists_every_target_and_variable() -> None:
    text = help_text()
    targets = re.findall(r"^([a-z0-9-]+):.*## ", MAKEFILE, re.MULTILINE)
    assert len(targets) >= 15
    listed = set(re.findall(r"^  ([A-Za-z0-9_-]+) ", text, re.MULTILINE))
    assert set(targets) <= listed, set(targets) - listed
    assert settable_variables() <= listed, settable_variables() - listed
