"""make package: a byte-identical zip holding only the handler, importable as deployed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools.package import RUNTIME, build, interpreter

ROOT = Path(__file__).resolve().parents[2]


def test_zip_is_byte_identical_on_every_build(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build(ROOT / "lambda_src", first)
    (ROOT / "lambda_src" / "fanout" / "handler.py").touch()  # a new mtime must not matter
    build(ROOT / "lambda_src", second)
    assert first.read_bytes() == second.read_bytes()


def test_zip_holds_only_the_handler_sources_and_their_bytecode(tmp_path: Path) -> None:
    out = tmp_path / "fanout.zip"
    build(ROOT / "lambda_src", out)
    names = zipfile.ZipFile(out).namelist()
    assert names == sorted(names)
    assert "fanout/handler.py" in names
    sources = {n for n in names if n.endswith(".py")}
    assert all(n.startswith("fanout/") for n in names)
    if interpreter(RUNTIME) is not None:
        compiled = {n for n in names if n.endswith(".pyc")}
        assert sources | compiled == set(names)
        assert {f"fanout/__pycache__/{Path(n).stem}.cpython-313.pyc" for n in sources} == compiled


def test_the_runtime_loads_the_shipped_bytecode_without_compiling(tmp_path: Path) -> None:
    python = interpreter(RUNTIME)
    if python is None:
        pytest.skip(f"no {RUNTIME} interpreter on this machine")
    out = tmp_path / "fanout.zip"
    build(ROOT / "lambda_src", out)
    task = tmp_path / "task"
    zipfile.ZipFile(out).extractall(task)
    (task / "fanout" / "limits.py").write_text("this is not Python\n")  # never read
    code = (  # the module alone, as a file, so the package's imports (boto3) are not needed
        "import importlib.util as u, sys; "
        "spec = u.spec_from_file_location('limits', sys.argv[1] + '/fanout/limits.py'); "
        "m = u.module_from_spec(spec); spec.loader.exec_module(m); print(m.PUT_EVENTS_MAX_ENTRIES)"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [python, "-c", code, str(task)], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "10"


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
