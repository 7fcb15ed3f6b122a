"""Check that the release the docs tell users to pin exists and is named alike everywhere.

A user copies `source = "git::…?ref=vX.Y.Z"` from the README; that fails at
`terraform init` when the tag is not in the repository. This check fails, naming
each disagreement, unless:

- every `?ref=vX.Y.Z` and `.git@vX.Y.Z` in README.md, docs/ and the examples'
  READMEs names the same version,
- that version is the newest release in CHANGELOG.md (the first `## [X.Y.Z]`
  heading under `## [Unreleased]`), with a link definition at the bottom
  (`[X.Y.Z]: …`) and `[Unreleased]: …/compare/vX.Y.Z...HEAD`,
- `dynamodb_fanout.__version__` (cli/dynamodb_fanout/__init__.py) is that version,
- and (unless --no-tag) the annotated tag vX.Y.Z is in the repository.

    python -m tools.release_check [--root DIR] [--no-tag]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PIN = re.compile(r"(?:\?ref=|\.git@)v(\d+\.\d+\.\d+)\b")
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\]", re.MULTILINE)
LINK = re.compile(r"^\[([^\]]+)\]: (\S+)$", re.MULTILINE)
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def pinned_versions(root: Path) -> dict[str, set[str]]:
    """Version -> the documents that pin it."""
    documents = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    documents += sorted((root / "examples").glob("*/README.md"))
    found: dict[str, set[str]] = {}
    for path in documents:
        if path.is_file():
            for version in PIN.findall(path.read_text(encoding="utf-8")):
                found.setdefault(version, set()).add(path.relative_to(root).as_posix())
    return found


def tag_problem(root: Path, tag: str) -> str | None:
    """Why the tag cannot be pinned, or None when it is an annotated tag here."""
    kind = subprocess.run(
        ["git", "cat-file", "-t", f"refs/tags/{tag}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if kind.returncode != 0:
        return f"the tag {tag} is not in the repository (git tag -l {tag} is empty)"
    if kind.stdout.strip() != "tag":
        return f"the tag {tag} is a lightweight tag; release tags are annotated (git tag -a)"
    return None


def problems(root: Path, check_tag: bool = True) -> list[str]:
    """Everything that disagrees; empty when the release can be pinned as documented."""
    found: list[str] = []
    pins = pinned_versions(root)
    if not pins:
        found.append("README.md pins no release (?ref=vX.Y.Z)")
    elif len(pins) > 1:
        where = "; ".join(f"v{v} in {', '.join(sorted(d))}" for v, d in sorted(pins.items()))
        found.append(f"the docs pin different releases: {where}")

    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = RELEASE.findall(changelog)
    links = dict(LINK.findall(changelog))
    if "## [Unreleased]" not in changelog:
        found.append("CHANGELOG.md has no ## [Unreleased] heading")
    if not releases:
        found.append("CHANGELOG.md has no release heading (## [X.Y.Z] - date)")
    newest = releases[0] if releases else None
    if newest and newest not in links:
        found.append(f"CHANGELOG.md has no link definition [{newest}]: …")
    if newest and not links.get("Unreleased", "").endswith(f"v{newest}...HEAD"):
        found.append(f"CHANGELOG.md's [Unreleased] link must compare v{newest}...HEAD")

    match = VERSION.search(
        (root / "cli" / "dynamodb_fanout" / "__init__.py").read_text(encoding="utf-8")
    )
    version = match.group(1) if match else None
    if version is None:
        found.append("cli/dynamodb_fanout/__init__.py sets no __version__")

    named = {"CHANGELOG.md's newest release": newest, "dynamodb_fanout.__version__": version}
    if len(pins) == 1:
        named["the docs' ?ref="] = next(iter(pins))
    if len({v for v in named.values() if v}) > 1:
        found.append(
            "the release is named differently: "
            + ", ".join(f"{k} {v}" for k, v in named.items() if v)
        )
    if check_tag and newest:
        problem = tag_problem(root, f"v{newest}")
        if problem:
            found.append(problem)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--no-tag", action="store_true", help="skip the tag (before it is cut)")
    args = parser.parse_args(argv)
    found = problems(args.root, check_tag=not args.no_tag)
    for problem in found:
        print(f"release-check: {problem}", file=sys.stderr)
    if not found:
        print(f"release-check: v{RELEASE.findall((args.root / 'CHANGELOG.md').read_text())[0]} ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
