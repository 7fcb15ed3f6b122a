"""Create an annotated tag vX.Y.Z for every release CHANGELOG.md names, at its commit.

The branch is what is published, and tags do not travel with it: whoever mirrors the
repository and wants tags runs this (`make release-tags`) in their clone. A tag that
exists already is left as it is, also when it points elsewhere (that is reported, and the
exit status is 1): a tag is never moved.

    python -m tools.release_tags [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.release_check import git, is_commit, read_changelog


def tag_releases(root: Path) -> tuple[list[str], list[str]]:
    """Create the missing tags, oldest release first: (what was done, what is wrong)."""
    done: list[str] = []
    wrong: list[str] = []
    changelog = read_changelog((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    for release in reversed(changelog.releases):
        tag = f"v{release.version}"
        if release.commit is None:
            wrong.append(f"{tag}: CHANGELOG.md names no commit for {release.version}")
            continue
        existing = git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
        if existing.returncode == 0:
            at = existing.stdout.strip()
            if at == release.commit:
                done.append(f"{tag} exists at {at}")
            else:
                wrong.append(
                    f"{tag} exists at {at}, not at {release.version}'s commit {release.commit}:"
                    " left as it is (tags are never moved)"
                )
            continue
        if not is_commit(root, release.commit):
            wrong.append(f"{tag}: {release.commit} is not a commit in this clone")
            continue
        created = git(root, "tag", "-a", tag, "-m", f"Release {release.version}", release.commit)
        if created.returncode != 0:
            wrong.append(f"{tag}: git tag failed: {created.stderr.strip()}")
            continue
        done.append(f"{tag} created at {release.commit}")
    return done, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    done, wrong = tag_releases(args.root)
    for line in done:
        print(f"release-tags: {line}")
    for line in wrong:
        print(f"release-tags: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
