"""Every repository path and every link the docs and examples name exists.

Paths are read two ways: Markdown links (relative to the page, anchors
included) and any token that starts with one of the repository's top-level
directories (`localrun/demo.py`, examples/local), in prose, code
blocks and .tf comments alike, relative to the repository root. Generated
places (build/, .venv/) and placeholders (<name>, …, *) are not paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.module

TOP = ("lambda_src", "cli", "tests", "tools", "localrun", "examples", "docs", "schemas", "bench")
PATH = re.compile(rf"(?<![\w./-])(?:\.\./)*((?:{'|'.join(TOP)}|dist)/[^\s`'\"()\[\]{{}},;:]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
FENCE = re.compile(r"(?ms)^```.*?^```")


def documents() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "BENCHMARKS.md"]
    pages += sorted((ROOT / "docs").glob("*.md"))
    pages += sorted((ROOT / "examples").glob("*/README.md"))
    pages += sorted((ROOT / "examples").glob("*/*.tf"))
    return [p for p in pages if p.is_file()]


def anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def named_paths(text: str) -> set[str]:
    tokens = (m.rstrip("/.") for m in PATH.findall(text))
    paths = (t.split("#")[0] for t in tokens)
    return {t for t in paths if t.count("/") and not re.search(r"[<>*…$=]", t)}


def test_the_path_reader_finds_the_forms_the_docs_use() -> None:
    text = (
        "see `localrun/demo.py`, [x](../examples/local) and tests/e2e/ or "
        "build/terraformrc, lambda_src/fanout/… and examples/<name>/README.md"
    )
    assert named_paths(text) == {"localrun/demo.py", "examples/local", "tests/e2e"}
    assert anchor("check-pattern: try a rule before deploying it") == (
        "check-pattern-try-a-rule-before-deploying-it"
    )


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_named_path_exists(page: Path) -> None:
    missing = sorted(p for p in named_paths(page.read_text("utf-8")) if not (ROOT / p).exists())
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize(
    "page",
    [p for p in documents() if p.suffix == ".md"],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_every_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text("utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif fragment and resolved.suffix == ".md":
            anchors = {anchor(h) for h in HEADING.findall(FENCE.sub("", resolved.read_text()))}
            if fragment not in anchors:
                broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to what does not exist: {broken}"
