"""tools/release_check.py: the pinned tag, CHANGELOG and __version__ agree; the tag exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tools import release_check

ROOT = Path(__file__).resolve().parents[2]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "tag.gpgSign=false"]


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """The repository's release-naming files, committed and tagged as a release is."""
    for name in ("README.md", "CHANGELOG.md", "cli/dynamodb_fanout/__init__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for readme in ROOT.glob("examples/*/README.md"):
        target = tmp_path / readme.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(readme, target)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "release")
    version = release_check.RELEASE.findall((tmp_path / "CHANGELOG.md").read_text())[0]
    git(tmp_path, "tag", "-a", f"v{version}", "-m", f"v{version}")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def version_of(root: Path) -> str:
    return release_check.RELEASE.findall((root / "CHANGELOG.md").read_text())[0]


def test_a_tagged_release_named_alike_everywhere_passes(release: Path, capsys) -> None:
    assert release_check.problems(release) == []
    assert release_check.main(["--root", str(release)]) == 0
    assert f"v{version_of(release)} ok" in capsys.readouterr().out


def test_the_repository_names_one_release_everywhere() -> None:
    """Before the tag is cut the names must agree already (the tag is checked in CI)."""
    assert release_check.problems(ROOT, check_tag=False) == []


def test_a_missing_tag_fails(release: Path) -> None:
    v = version_of(release)
    git(release, "tag", "-d", f"v{v}")
    assert release_check.problems(release) == [
        f"the tag v{v} is not in the repository (git tag -l v{v} is empty)"
    ]
    assert release_check.problems(release, check_tag=False) == []
    assert release_check.main(["--root", str(release)]) == 1


def test_a_lightweight_tag_fails(release: Path) -> None:
    v = version_of(release)
    git(release, "tag", "-d", f"v{v}")
    git(release, "tag", f"v{v}")
    assert "lightweight" in release_check.problems(release)[0]


def test_a_readme_pinning_another_release_fails(release: Path) -> None:
    v = version_of(release)
    edit(release / "README.md", f"?ref=v{v}", "?ref=v9.9.9")
    found = release_check.problems(release)
    assert any("the docs pin different releases" in p and "v9.9.9 in README.md" in p for p in found)


def test_docs_pinning_another_release_fail(release: Path) -> None:
    v = version_of(release)
    edit(release / "docs" / "operations.md", f".git@v{v}", ".git@v0.0.1")
    assert any("v0.0.1 in docs/operations.md" in p for p in release_check.problems(release))


def test_a_version_that_is_not_the_newest_release_fails(release: Path) -> None:
    v = version_of(release)
    edit(release / "cli" / "dynamodb_fanout" / "__init__.py", f'"{v}"', '"9.9.9"')
    found = release_check.problems(release)
    assert any("dynamodb_fanout.__version__ 9.9.9" in p for p in found), found


def test_a_new_release_heading_without_its_tag_and_links_fails(release: Path) -> None:
    edit(
        release / "CHANGELOG.md",
        "## [Unreleased]\n",
        "## [Unreleased]\n\n## [9.9.9] - 2030-01-01\n",
    )
    found = release_check.problems(release)
    assert "CHANGELOG.md has no link definition [9.9.9]: …" in found
    assert "CHANGELOG.md's [Unreleased] link must compare v9.9.9...HEAD" in found
    assert any("the tag v9.9.9 is not in the repository" in p for p in found)
    assert any("CHANGELOG.md's newest release 9.9.9" in p for p in found)


def test_release_check_is_a_make_target_and_ci_runs_it_when_tags_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "release-check:" in makefile and "tools.release_check" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'if [ -n "$(git tag -l)" ]; then' in ci and "make release-check" in ci
    assert "\nmake test\n" in ci
