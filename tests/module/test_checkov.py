"""checkov over the module and its examples: no failed check, every skip explained inline."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT, run

pytestmark = pytest.mark.module

CHECKOV = Path(sys.executable).with_name("checkov")
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def _terraform_files() -> list[Path]:
    files = sorted(ROOT.glob("*.tf")) + sorted(ROOT.glob("modules/*/*.tf"))
    for example in EXAMPLES:
        files += sorted((ROOT / "examples" / example).glob("*.tf"))
    return files


def test_checkov_has_no_failed_checks(zips: None) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} not found: run `make venv`")
    args = [str(CHECKOV), "--framework", "terraform", "--skip-download", "--compact", "-o", "json"]
    args += ["-d", str(ROOT)]
    # The module at the root and the examples this module owns; never the venv or state.
    for skipped in (r"\.venv", r"\.terraform", "tests", "build", "dist"):
        args += ["--skip-path", skipped]
    result = run(args, ROOT, timeout=300)
    try:
        reports = json.loads(result.output)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report:\n{result.output}")
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for report in reports
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(len(r.get("results", {}).get("passed_checks", [])) for r in reports)
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert passed > 0, "checkov checked nothing"
    scanned = {c["file_path"] for r in reports for c in r["results"]["passed_checks"]}
    for example in EXAMPLES:
        assert any(p.startswith(f"/examples/{example}/") for p in scanned), (example, scanned)


def test_every_checkov_skip_has_a_reason() -> None:
    skips = []
    for path in _terraform_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SKIP.search(line)
            if match:
                skips.append((f"{path.relative_to(ROOT)}:{number}", match.group(1), match.group(2)))
    assert skips, "expected the documented skips"
    unexplained = [
        f"{where} {check}"
        for where, check, reason in skips
        if not reason or len(reason.strip()) < 15
    ]
    assert not unexplained, "checkov skips without a reason:\n" + "\n".join(unexplained)
