"""Check that the release the docs tell users to pin is a commit of this repository.

Only the branch is published; tags do not travel with it. A release is therefore a
commit on the branch, named in CHANGELOG.md by a heading and the line right after it:

    ## [X.Y.Z] - YYYY-MM-DD
    Commit: `<the release commit's full 40-character id>`

and users pin that commit: `source = "git::…?ref=<commit id>" # X.Y.Z`. This check fails,
naming each disagreement, unless:

- CHANGELOG.md has a `## [Unreleased]` heading above its releases, newest first, each
  with its `Commit:` line, each commit in this clone and in the history of HEAD;
- every pin (`?ref=<id>` or `.git@<id>`) in README.md, docs/ and examples/ is the full
  commit id of the newest release, with its version on the same line, and README.md has one;
- `__version__` in cli/dynamodb_fanout/__init__.py at that commit is the release's version;
- the module files users get (the root's *.tf, its local modules' modules/*/*.tf and
  dist/fanout.zip) are the same at HEAD as at that commit, or else CHANGELOG.md's
  `## [Unreleased]` section says what differs.

    python -m tools.release_check [--root DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HEADING = re.compile(r"^## \[([^\]]+)\](.*)$", re.MULTILINE)
RELEASE_HEADING = re.compile(r"^ - \d{4}-\d{2}-\d{2}$")
VERSION_NUMBER = re.compile(r"^\d+\.\d+\.\d+$")
COMMIT_LINE = re.compile(r"^Commit: `([0-9a-f]{40})`$")
PIN = re.compile(r"(?:\?ref=|\.git@)(?!<)([^\s\"'`)\]&#]+)")
FULL_ID = re.compile(r"^[0-9a-f]{40}$")
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
CLI_INIT = "cli/dynamodb_fanout/__init__.py"
# What a `git::` source gives a user: the module's .tf files at the root, those of its local
# modules (modules/<name>/, which the root calls) and its zip.
MODULE_FILES = (":(glob)*.tf", ":(glob)modules/*/*.tf", "dist/fanout.zip")
COMMIT_FORMAT = "Commit: `<full 40-character commit id>`"


@dataclass(frozen=True)
class Release:
    version: str
    commit: str | None  # None: the heading has no Commit: line right after it


@dataclass(frozen=True)
class Changelog:
    has_unreleased: bool
    unreleased_text: str  # the section's lines that are not headings, stripped
    releases: list[Release]  # as listed, top to bottom
    problems: list[str]


def read_changelog(text: str) -> Changelog:
    """The releases, the [Unreleased] section and what is malformed."""
    problems: list[str] = []
    releases: list[Release] = []
    lines = text.splitlines()
    headings = list(HEADING.finditer(text))
    unreleased_at = next((h for h in headings if h.group(1) == "Unreleased"), None)
    unreleased_text = ""
    if unreleased_at is not None:
        after = text[unreleased_at.end() :]
        following = re.search(r"^## ", after, re.MULTILINE)
        section = after[: following.start()] if following else after
        unreleased_text = "\n".join(
            line for line in section.splitlines() if line.strip() and not line.startswith("#")
        )
    for heading in headings:
        name, rest = heading.group(1), heading.group(2)
        if name == "Unreleased":
            continue
        if not VERSION_NUMBER.match(name) or not RELEASE_HEADING.match(rest):
            problems.append(
                f"CHANGELOG.md: `{heading.group(0)}` is not a release heading"
                " (## [X.Y.Z] - YYYY-MM-DD)"
            )
            continue
        line_number = text.count("\n", 0, heading.start())
        next_line = lines[line_number + 1] if line_number + 1 < len(lines) else ""
        match = COMMIT_LINE.match(next_line)
        releases.append(Release(name, match.group(1) if match else None))
        if unreleased_at is not None and heading.start() < unreleased_at.start():
            problems.append(f"CHANGELOG.md: ## [Unreleased] must come before ## [{name}]")
    return Changelog(unreleased_at is not None, unreleased_text, releases, problems)


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def is_commit(root: Path, commit: str) -> bool:
    return git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def pinned(root: Path) -> dict[str, list[tuple[int, str, str]]]:
    """Document -> (line number, ref, line) of every pin in the docs and examples."""
    documents = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    documents += sorted((root / "examples").glob("*/README.md"))
    documents += sorted((root / "examples").glob("*/*.tf"))
    found: dict[str, list[tuple[int, str, str]]] = {}
    for path in documents:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for ref in PIN.findall(line):
                found.setdefault(path.relative_to(root).as_posix(), []).append((number, ref, line))
    return found


def version_at(root: Path, commit: str) -> str | None:
    shown = git(root, "show", f"{commit}:{CLI_INIT}")
    match = VERSION.search(shown.stdout) if shown.returncode == 0 else None
    return match.group(1) if match else None


def module_changes(root: Path, commit: str) -> list[str]:
    """The module files that differ between the commit and HEAD."""
    diff = git(root, "diff", "--name-only", commit, "HEAD", "--", *MODULE_FILES)
    return diff.stdout.split()


def changelog_problems(root: Path, changelog: Changelog) -> list[str]:
    found = list(changelog.problems)
    if not changelog.has_unreleased:
        found.append("CHANGELOG.md has no ## [Unreleased] heading")
    if not changelog.releases:
        found.append("CHANGELOG.md has no release heading (## [X.Y.Z] - YYYY-MM-DD)")
    numbers = [tuple(int(n) for n in r.version.split(".")) for r in changelog.releases]
    if numbers != sorted(numbers, reverse=True) or len(set(numbers)) != len(numbers):
        order = ", ".join(r.version for r in changelog.releases)
        found.append(f"CHANGELOG.md: releases must be listed newest first, once each ({order})")
    seen: dict[str, str] = {}
    for release in changelog.releases:
        if release.commit is None:
            found.append(
                f"CHANGELOG.md: ## [{release.version}] has no `{COMMIT_FORMAT}` line"
                " right after its heading"
            )
            continue
        if release.commit in seen:
            found.append(
                f"CHANGELOG.md: {release.version} and {seen[release.commit]} name one commit,"
                f" {release.commit}"
            )
        seen[release.commit] = release.version
        if not is_commit(root, release.commit):
            found.append(
                f"CHANGELOG.md: release {release.version} names {release.commit}, which is not"
                " a commit in this clone (a shallow clone lacks history: git fetch --unshallow)"
            )
        elif git(root, "merge-base", "--is-ancestor", release.commit, "HEAD").returncode != 0:
            found.append(
                f"CHANGELOG.md: release {release.version}'s commit {release.commit} is not in the"
                " history of HEAD (a release is a commit on the branch users clone)"
            )
    return found


def pin_problems(root: Path, newest: Release | None) -> list[str]:
    found: list[str] = []
    pins = pinned(root)
    if "README.md" not in pins:
        found.append("README.md pins no release (?ref=<the release's commit id>)")
    for document, entries in pins.items():
        for number, ref, line in entries:
            where = f"{document}:{number}"
            if not FULL_ID.match(ref):
                found.append(f"{where} pins {ref}: pin the release's full 40-character commit id")
            elif not is_commit(root, ref):
                found.append(f"{where} pins {ref}, which is not a commit in this clone")
            elif newest is not None and newest.commit is not None and ref != newest.commit:
                found.append(
                    f"{where} pins {ref}, not the newest release {newest.version} ({newest.commit})"
                )
            elif newest is not None and not re.search(
                rf"(?<![\d.]){re.escape(newest.version)}(?![\d.]*\d)", line
            ):
                found.append(f"{where} pins {ref} without its version {newest.version} beside it")
    return found


def problems(root: Path) -> list[str]:
    """Everything that disagrees; empty when the pinned release is what the docs say."""
    changelog = read_changelog((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    found = changelog_problems(root, changelog)
    newest = changelog.releases[0] if changelog.releases else None
    found += pin_problems(root, newest)
    if newest is None or newest.commit is None or not is_commit(root, newest.commit):
        return found
    version = version_at(root, newest.commit)
    if version != newest.version:
        found.append(
            f"{CLI_INIT} at {newest.commit} (release {newest.version}) sets __version__"
            f" {version or 'nothing'}, not {newest.version}"
        )
    changed = module_changes(root, newest.commit)
    if changed and not changelog.unreleased_text:
        found.append(
            f"the module changed since {newest.version} ({', '.join(changed)}) and CHANGELOG.md's"
            " ## [Unreleased] section is empty: say what differs"
        )
    return found


def summary(root: Path) -> str:
    changelog = read_changelog((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    newest = changelog.releases[0]
    assert newest.commit is not None
    documents = ", ".join(sorted(pinned(root)))
    changed = module_changes(root, newest.commit)
    since = (
        f"the module changed since ({', '.join(changed)}), as ## [Unreleased] says"
        if changed
        else "the module is unchanged since"
    )
    return f"{newest.version} is commit {newest.commit}, pinned by {documents}; {since}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    found = problems(args.root)
    for problem in found:
        print(f"release-check: {problem}", file=sys.stderr)
    if not found:
        print(f"release-check: {summary(args.root)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
