"""What a pass tells the operator: notes grouped by what they say, and the summary as text or JSON.

A pass over 28 messages parked for one reason says so once, with a count and
the first message as an example (``left 28: event bus missing: … (e.g. …)``),
not 28 times. ``--json`` prints the same summary as one JSON document on
stdout, for runbooks; the text summary is then not printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Group:
    kind: str
    why: str
    count: int = 0
    example: str = ""


@dataclass
class Notes:
    """Notes counted by (kind, why); the first occurrence's specifics kept as an example."""

    _groups: dict[tuple[str, str], _Group] = field(default_factory=dict)

    def add(self, kind: str, why: str, example: str = "") -> None:
        group = self._groups.setdefault((kind, why), _Group(kind, why))
        group.count += 1
        if not group.example:
            group.example = example

    def count(self, kind: str) -> int:
        return sum(g.count for g in self._groups.values() if g.kind == kind)

    def by_why(self, kind: str) -> dict[str, int]:
        return {g.why: g.count for g in self._groups.values() if g.kind == kind}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def lines(self, kinds: Iterable[str] | None = None) -> list[str]:
        wanted = set(kinds) if kinds is not None else None
        out = []
        for group in self._groups.values():
            if wanted is not None and group.kind not in wanted:
                continue
            example = ""
            if group.example:
                example = f" (e.g. {group.example})" if group.count > 1 else f" ({group.example})"
            out.append(f"{group.kind} {group.count}: {group.why}{example}")
        return out

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"kind": g.kind, "why": g.why, "count": g.count, "example": g.example}
            for g in self._groups.values()
        ]


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--json and --quiet, shared by the long-running commands."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as one JSON document on stdout (progress stays on stderr)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def emit(args: argparse.Namespace, document: dict[str, Any], lines: list[str]) -> None:
    """The summary: one JSON document with --json, else the lines of text."""
    if getattr(args, "json", False):
        print(json.dumps(document, indent=2, sort_keys=False, default=str))
        return
    for line in lines:
        print(line)
