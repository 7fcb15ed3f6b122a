"""Build a Lambda deployment zip that is byte-identical on every build.

Only the handler's Python sources go in (boto3 ships with the runtime), in
sorted order, with a fixed timestamp and fixed permissions, so the zip's
hash, and therefore Terraform's ``source_code_hash``, changes only when the
code does.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16


def sources(root: Path) -> list[Path]:
    """The .py files under root, sorted, without caches or tests."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts and not path.name.startswith("test_")
    )


def build(root: Path, out: Path) -> int:
    """Write the zip to out and return its size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # builds running at once never share it
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sources(root):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_DATE)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(out)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="directory whose .py files go in the zip")
    parser.add_argument("output", type=Path, help="zip file to write")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source} is not a directory")
    size = build(args.source, args.output)
    print(f"{args.output}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
