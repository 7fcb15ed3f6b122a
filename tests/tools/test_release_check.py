"""tools/release_check.py and tools/release_tags.py, against temporary git repositories.

Each repository is built the way releases are cut (CONTRIBUTING.md): a release commit,
then a commit that records its id in CHANGELOG.md and pins it in the docs. Every rule of
the check has a test that breaks exactly that rule and expects exactly its message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import release_check, release_tags

ROOT = Path(__file__).resolve().parents[2]
GIT = [
    "git",
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.com",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "init.defaultBranch=main",
]
INIT = "cli/dynamodb_fanout/__init__.py"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def write(root: Path, name: str, text: str | bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def changelog(unreleased: str, releases: list[tuple[str, str | None]]) -> str:
    parts = ["# Changelog\n", f"## [Unreleased]\n{unreleased}"]
    for version, sha in releases:
        record = f"Commit: `{sha}`\n" if sha else ""
        parts.append(f"## [{version}] - 2030-01-01\n{record}\n### Added\n- {version}\n")
    return "\n".join(parts)


def pins(sha: str, version: str) -> dict[str, str]:
    source = f"git::https://<host>/<owner>/fanout.git?ref={sha}"
    return {
        "README.md": f'```hcl\n  source = "{source}" # {version}\n```\n'
        "Pin `?ref=<commit id>`; see CHANGELOG.md.\n",
        "docs/testing-your-root.md": f'  source = "{source}" # {version}\n',
        "docs/operations.md": f'pip install "git+https://<host>/fanout.git@{sha}"  # {version}\n',
        "examples/demo/README.md": 'An example that pins nothing: `source = "../../"`.\n',
        "examples/demo/main.tf": 'module "m" {\n  source = "../../"\n}\n',
    }


class Repo:
    """Releases 0.9.0 and 1.0.0, then the record of 1.0.0 (HEAD)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        git(root, "init", "-q")
        write(root, "main.tf", "# the module at 0.9.0\n")
        write(root, "dist/fanout.zip", b"zip 0.9.0")
        write(root, INIT, '__version__ = "0.9.0"\n')
        write(root, "CHANGELOG.md", changelog("", [("0.9.0", None)]))
        self.old = commit(root, "Release 0.9.0")
        write(root, "main.tf", "# the module at 1.0.0\n")
        write(root, "variables.tf", "# inputs\n")
        write(root, "dist/fanout.zip", b"zip 1.0.0")
        write(root, INIT, '__version__ = "1.0.0"\n')
        write(root, "CHANGELOG.md", changelog("", [("1.0.0", None), ("0.9.0", self.old)]))
        self.new = commit(root, "Release 1.0.0")
        self.record()

    def record(self, version: str = "1.0.0", releases: list[tuple[str, str | None]] | None = None):
        releases = releases or [("1.0.0", self.new), ("0.9.0", self.old)]
        write(self.root, "CHANGELOG.md", changelog("", releases))
        for name, text in pins(self.new, version).items():
            write(self.root, name, text)
        return commit(self.root, f"Release {version}: record its commit")

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def problems(self) -> list[str]:
        return release_check.problems(self.root)


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """release_tags runs plain `git tag -a`: a tagger, and no signing, whatever the
    machine's configuration says."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "t")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "tag.gpgSign")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "false")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_a_recorded_release_pinned_everywhere_passes(repo: Repo, capsys) -> None:
    assert repo.problems() == []
    assert release_check.main(["--root", str(repo.root)]) == 0
    out = capsys.readouterr().out
    assert f"1.0.0 is commit {repo.new}" in out and "the module is unchanged since" in out


def test_this_repository_passes() -> None:
    assert release_check.problems(ROOT) == []


def test_the_changelog_reader() -> None:
    text = changelog("\n- a fix\n", [("1.0.0", "a" * 40), ("0.9.0", None)])
    read = release_check.read_changelog(text)
    assert read.has_unreleased and read.unreleased_text == "- a fix"
    assert read.releases == [
        release_check.Release("1.0.0", "a" * 40),
        release_check.Release("0.9.0", None),
    ]


# CHANGELOG.md


def test_no_unreleased_heading_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", "## [Unreleased]\n", "")
    assert repo.problems() == ["CHANGELOG.md has no ## [Unreleased] heading"]


def test_unreleased_below_a_release_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", "## [Unreleased]\n", "")
    (repo.root / "CHANGELOG.md").write_text(
        (repo.root / "CHANGELOG.md").read_text() + "\n## [Unreleased]\n", encoding="utf-8"
    )
    assert repo.problems() == [
        "CHANGELOG.md: ## [Unreleased] must come before ## [1.0.0]",
        "CHANGELOG.md: ## [Unreleased] must come before ## [0.9.0]",
    ]


def test_no_release_fails(repo: Repo) -> None:
    write(repo.root, "CHANGELOG.md", changelog("", []))
    assert repo.problems() == [
        "CHANGELOG.md has no release heading (## [X.Y.Z] - YYYY-MM-DD)",
    ]


def test_a_malformed_release_heading_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", "## [1.0.0] - 2030-01-01", "## [1.0.0] 2030-01-01")
    found = repo.problems()
    assert found[0] == (
        "CHANGELOG.md: `## [1.0.0] 2030-01-01` is not a release heading (## [X.Y.Z] - YYYY-MM-DD)"
    )


def test_a_release_without_its_commit_line_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`\n", "")
    assert repo.problems() == [
        "CHANGELOG.md: ## [0.9.0] has no `Commit: `<full 40-character commit id>`` line right"
        " after its heading"
    ]


def test_a_commit_line_that_is_not_right_after_the_heading_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", f"\nCommit: `{repo.new}`\n", f"\n\nCommit: `{repo.new}`\n")
    found = repo.problems()
    assert "CHANGELOG.md: ## [1.0.0] has no `Commit: " in found[0]


def test_a_short_commit_id_in_the_changelog_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`", f"Commit: `{repo.old[:7]}`")
    assert repo.problems() == [
        "CHANGELOG.md: ## [0.9.0] has no `Commit: `<full 40-character commit id>`` line right"
        " after its heading"
    ]


def test_releases_not_newest_first_fail(repo: Repo) -> None:
    write(repo.root, "CHANGELOG.md", changelog("", [("0.9.0", repo.old), ("1.0.0", repo.new)]))
    assert "CHANGELOG.md: releases must be listed newest first, once each (0.9.0, 1.0.0)" in (
        repo.problems()
    )


def test_two_releases_naming_one_commit_fail(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`", f"Commit: `{repo.new}`")
    assert repo.problems() == [f"CHANGELOG.md: 0.9.0 and 1.0.0 name one commit, {repo.new}"]


def test_a_release_commit_missing_from_the_clone_fails(repo: Repo) -> None:
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`", f"Commit: `{'0' * 40}`")
    assert repo.problems() == [
        f"CHANGELOG.md: release 0.9.0 names {'0' * 40}, which is not a commit in this clone"
        " (a shallow clone lacks history: git fetch --unshallow)"
    ]


def test_a_release_commit_off_the_branch_fails(repo: Repo) -> None:
    git(repo.root, "checkout", "-q", "-b", "elsewhere", repo.old)
    write(repo.root, "notes.txt", "not on main\n")
    side = commit(repo.root, "a commit on another branch")
    git(repo.root, "checkout", "-q", "main")
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`", f"Commit: `{side}`")
    assert repo.problems() == [
        f"CHANGELOG.md: release 0.9.0's commit {side} is not in the history of HEAD"
        " (a release is a commit on the branch users clone)"
    ]


# The pins


def test_a_readme_that_pins_nothing_fails(repo: Repo) -> None:
    write(repo.root, "README.md", "Use it.\n")
    assert repo.problems() == ["README.md pins no release (?ref=<the release's commit id>)"]


def test_a_pinned_tag_or_short_id_fails(repo: Repo) -> None:
    repo.edit("README.md", f"?ref={repo.new}", "?ref=v1.0.0")
    repo.edit("docs/operations.md", f".git@{repo.new}", f".git@{repo.new[:12]}")
    assert repo.problems() == [
        "README.md:2 pins v1.0.0: pin the release's full 40-character commit id",
        f"docs/operations.md:1 pins {repo.new[:12]}: pin the release's full 40-character commit id",
    ]


def test_a_pin_of_an_unknown_commit_fails(repo: Repo) -> None:
    repo.edit("docs/testing-your-root.md", repo.new, "f" * 40)
    assert repo.problems() == [
        f"docs/testing-your-root.md:1 pins {'f' * 40}, which is not a commit in this clone"
    ]


def test_a_pin_of_an_older_release_fails(repo: Repo) -> None:
    repo.edit("README.md", f"?ref={repo.new}", f"?ref={repo.old}")
    assert repo.problems() == [
        f"README.md:2 pins {repo.old}, not the newest release 1.0.0 ({repo.new})"
    ]


def test_an_example_that_pins_another_commit_fails(repo: Repo) -> None:
    write(repo.root, "examples/demo/main.tf", f'source = "git::x.git?ref={repo.old}" # 0.9.0\n')
    assert repo.problems() == [
        f"examples/demo/main.tf:1 pins {repo.old}, not the newest release 1.0.0 ({repo.new})"
    ]


def test_a_pin_without_its_version_beside_it_fails(repo: Repo) -> None:
    repo.edit("README.md", " # 1.0.0", "")
    repo.edit("docs/testing-your-root.md", "# 1.0.0", "# 11.0.0")
    assert repo.problems() == [
        f"README.md:2 pins {repo.new} without its version 1.0.0 beside it",
        f"docs/testing-your-root.md:1 pins {repo.new} without its version 1.0.0 beside it",
    ]


# The release commit itself


def test_another_version_at_the_release_commit_fails(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    git(repo.root, "reset", "-q", "--hard", repo.old)
    write(repo.root, "main.tf", "# the module at 1.0.0\n")
    write(repo.root, INIT, '__version__ = "0.9.0"\n')  # forgotten at the release
    repo.new = commit(repo.root, "Release 1.0.0")
    write(repo.root, INIT, '__version__ = "1.0.0"\n')  # set afterwards: not what users got
    repo.record()
    assert repo.problems() == [
        f"{INIT} at {repo.new} (release 1.0.0) sets __version__ 0.9.0, not 1.0.0"
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [("main.tf", "# changed\n"), ("dist/fanout.zip", b"another zip"), ("new.tf", "# added\n")],
)
def test_a_module_changed_since_the_release_needs_unreleased_notes(
    repo: Repo, name: str, content: str | bytes
) -> None:
    write(repo.root, name, content)
    commit(repo.root, "change the module")
    assert repo.problems() == [
        f"the module changed since 1.0.0 ({name}) and CHANGELOG.md's ## [Unreleased] section"
        " is empty: say what differs"
    ]
    repo.edit("CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n### Changed\n")
    commit(repo.root, "a heading says nothing")
    assert len(repo.problems()) == 1
    repo.edit("CHANGELOG.md", "### Changed\n", "### Changed\n- What changed and why.\n")
    commit(repo.root, "say what differs")
    assert repo.problems() == []


def test_files_outside_the_module_may_change_without_notes(repo: Repo) -> None:
    write(repo.root, "examples/demo/main.tf", 'module "m" {\n  source = "../../"\n}\n# more\n')
    write(repo.root, "tests/names.tftest.hcl", "# a test\n")
    write(repo.root, "docs/more.md", "More docs.\n")
    write(repo.root, INIT, '__version__ = "1.0.1.dev0"\n')
    commit(repo.root, "not the module")
    assert repo.problems() == []


def test_main_reports_each_problem_and_fails(repo: Repo, capsys) -> None:
    repo.edit("README.md", f"?ref={repo.new}", f"?ref={repo.old}")
    repo.edit("CHANGELOG.md", "## [Unreleased]\n", "")
    assert release_check.main(["--root", str(repo.root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "release-check: CHANGELOG.md has no ## [Unreleased] heading",
        f"release-check: README.md:2 pins {repo.old}, not the newest release 1.0.0 ({repo.new})",
    ]


# make, CI and the tags


def test_release_check_and_release_tags_are_make_targets_and_ci_always_checks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrelease-check: ##" in makefile and "-m tools.release_check" in makefile
    assert "\nrelease-tags: ##" in makefile and "-m tools.release_tags" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci
    assert "\nmake release-check\n" in ci and "git tag -l" not in ci


def tag_of(root: Path, tag: str) -> tuple[str, str]:
    """(the object's type, the commit it names)."""
    return git(root, "cat-file", "-t", tag), git(root, "rev-parse", f"{tag}^{{commit}}")


def test_release_tags_creates_an_annotated_tag_per_release(repo: Repo, capsys) -> None:
    assert release_tags.main(["--root", str(repo.root)]) == 0
    assert tag_of(repo.root, "v0.9.0") == ("tag", repo.old)
    assert tag_of(repo.root, "v1.0.0") == ("tag", repo.new)
    assert capsys.readouterr().out.splitlines() == [
        f"release-tags: v0.9.0 created at {repo.old}",
        f"release-tags: v1.0.0 created at {repo.new}",
    ]
    assert release_tags.main(["--root", str(repo.root)]) == 0  # again: nothing to do
    assert capsys.readouterr().out.splitlines() == [
        f"release-tags: v0.9.0 exists at {repo.old}",
        f"release-tags: v1.0.0 exists at {repo.new}",
    ]


def test_release_tags_never_moves_a_tag(repo: Repo, capsys) -> None:
    git(repo.root, "tag", "-a", "v1.0.0", "-m", "made by hand", repo.old)
    assert release_tags.main(["--root", str(repo.root)]) == 1
    assert tag_of(repo.root, "v1.0.0") == ("tag", repo.old)
    assert tag_of(repo.root, "v0.9.0") == ("tag", repo.old)
    assert capsys.readouterr().err.splitlines() == [
        f"release-tags: v1.0.0 exists at {repo.old}, not at 1.0.0's commit {repo.new}:"
        " left as it is (tags are never moved)"
    ]


def test_release_tags_skips_a_release_without_a_commit(repo: Repo, capsys) -> None:
    repo.edit("CHANGELOG.md", f"Commit: `{repo.old}`\n", "")
    repo.edit("CHANGELOG.md", f"Commit: `{repo.new}`", f"Commit: `{'0' * 40}`")
    assert release_tags.main(["--root", str(repo.root)]) == 1
    assert git(repo.root, "tag", "-l") == ""
    assert capsys.readouterr().err.splitlines() == [
        "release-tags: v0.9.0: CHANGELOG.md names no commit for 0.9.0",
        f"release-tags: v1.0.0: {'0' * 40} is not a commit in this clone",
    ]
