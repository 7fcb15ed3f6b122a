"""The phases of `make test` hold every test once, and test-<phase> runs what the phase runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
PHASES = {"UNIT_TESTS": "test-unit", "CLI_TESTS": "test-cli", "MODULE_TESTS": "test-module"}
PHASES["E2E_TESTS"] = "test-e2e"
MARKERS = {"MODULE_TESTS": "module", "E2E_TESTS": "e2e"}


def phase_directories() -> dict[str, list[str]]:
    found = {}
    for variable in PHASES:
        match = re.search(rf"^{variable} := (.+)$", MAKEFILE, re.MULTILINE)
        assert match, f"{variable} is not defined in the Makefile"
        found[variable] = match.group(1).split()
    return found


def recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert match, f"no recipe for {target}"
    return match.group(1)


def test_every_test_file_is_in_exactly_one_phase() -> None:
    directories = phase_directories()
    for variable, paths in directories.items():
        for path in paths:
            assert (ROOT / path).is_dir(), f"{variable} names {path}, which is not a directory"
    test_files = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("tests/**/test_*.py"))
    assert len(test_files) >= 40, test_files
    for name in test_files:
        owners = [v for v, paths in directories.items() for d in paths if name.startswith(d + "/")]
        assert len(owners) == 1, f"{name} is run by {owners or 'no phase'} of `make test`"


RUNNERS = {"E2E_TESTS": "PYTEST_E2E"}  # the end-to-end files get a worker each


def test_make_test_and_each_test_target_run_the_same_selection() -> None:
    test = recipe("test")
    for variable, target in PHASES.items():
        runner = RUNNERS.get(variable, "PYTEST")
        command = f"$({runner}) $({variable})"
        assert command in test, f"`make test` does not run {command}"
        assert recipe(target).strip() == command, target
    assert re.search(r"^PYTEST := \$\(PY\) -m pytest \$\(XDIST\)$", MAKEFILE, re.MULTILINE)
    assert re.search(r"^PYTEST_E2E := \$\(PY\) -m pytest \$\(E2E_XDIST\)$", MAKEFILE, re.MULTILINE)


def test_markers_agree_with_the_phase_a_file_is_in() -> None:
    """`-m module` / `-m e2e` still select exactly the module and end-to-end phases."""
    directories = phase_directories()
    for path in ROOT.glob("tests/**/test_*.py"):
        name = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        marks = set(re.findall(r"^pytestmark = pytest\.mark\.(\w+)$", text, re.MULTILINE))
        phase = next(v for v, ds in directories.items() for d in ds if name.startswith(d + "/"))
        expected = {MARKERS[phase]} if phase in MARKERS else set()
        assert marks & set(MARKERS.values()) == expected, f"{name}: marked {marks}"


def test_bare_make_prints_the_help() -> None:
    assert re.search(r"^\.DEFAULT_GOAL := help$", MAKEFILE, re.MULTILINE)
