"""What one `terraform test -json` run says about each test file.

All the files run in one Terraform process (each process spends seconds loading the aws
provider's schema before its first run), and each file's pytest test reads its own part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class FileReport:
    """One .tftest.hcl file: its status, each run's status, and what Terraform said."""

    status: str = "missing"
    runs: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def parse(output: str) -> tuple[dict[str, FileReport], list[str]]:
    """Per file path, its report; and the lines that belong to no file (errors of the
    whole command, anything that is not JSON)."""
    files: dict[str, FileReport] = {}
    general: list[str] = []
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            general.append(line)
            continue
        path = message.get("@testfile")
        if path is None:
            if message.get("@level") == "error":
                general.append(_describe(message))
            continue
        report = files.setdefault(path, FileReport())
        kind = message.get("type")
        if kind == "test_file" and message["test_file"].get("progress") == "complete":
            report.status = message["test_file"]["status"]
        elif kind == "test_run" and message["test_run"].get("progress") == "complete":
            report.runs[message["test_run"]["run"]] = message["test_run"]["status"]
        if message.get("@level") in ("error", "warn") or kind == "diagnostic":
            report.messages.append(_describe(message))
    return files, general


def _describe(message: dict) -> str:
    """A diagnostic as a person reads it: where, summary, detail."""
    diagnostic = message.get("diagnostic") or {}
    where = message.get("@testrun", "")
    text = diagnostic.get("summary") or message.get("@message", "")
    detail = diagnostic.get("detail", "")
    return f"[{where}] {text}" + (f": {detail}" if detail else "")
