"""make package: a byte-identical zip holding only the handler, importable as deployed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tools.package import build

ROOT = Path(__file__).resolve().parents[2]


def test_zip_is_byte_identical_on_every_build(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build(ROOT / "lambda_src", first)
    (ROOT / "lambda_src" / "fanout" / "handler.py").touch()  # a new mtime must not matter
    build(ROOT / "lambda_src", second)
    assert first.read_bytes() == second.read_bytes()


def test_zip_holds_only_the_handler_sources(tmp_path: Path) -> None:
    out = tmp_path / "fanout.zip"
    build(ROOT / "lambda_src", out)
    names = zipfile.ZipFile(out).namelist()
    assert names == sorted(names)
    assert "fanout/handler.py" in names
    assert all(n.startswith("fanout/") and n.endswith(".py") for n in names)


def test_handler_imports_from_the_zip_with_only_boto3(tmp_path: Path) -> None:
    out = tmp_path / "fanout.zip"
    build(ROOT / "lambda_src", out)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import fanout.handler as h; "
        "assert h.__file__.startswith(sys.argv[1]); print(h.lambda_handler.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "lambda_handler"
