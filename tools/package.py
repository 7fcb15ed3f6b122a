"""Build a Lambda deployment zip that is byte-identical on every build.

The handler's Python sources go in (boto3 ships with the runtime), in sorted
order, with a fixed timestamp and fixed permissions, so the zip's hash, and
therefore Terraform's ``source_code_hash``, changes only when the code does.

Beside each source goes its bytecode for the function's runtime
(``__pycache__/<name>.cpython-313.pyc`` for python3.13, the module's default):
Lambda's code directory is read-only, so without it every cold start
compiles the package again. The bytecode is compiled by an interpreter of
that version, unchecked-hash (it does not record the sources' times, and is
used without looking at them), so it is as reproducible as the sources. Other
runtimes ignore it and compile from the sources, as before. Without such an
interpreter the zip holds the sources only, and says so.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16
RUNTIME = "python3.13"  # variables.tf: var.runtime's default

# Run by the runtime's interpreter: compile each source to the path given after it.
_COMPILE = """
import py_compile, sys
pairs = sys.argv[1:]
for source, target, shown in zip(pairs[0::3], pairs[1::3], pairs[2::3]):
    py_compile.compile(source, cfile=target, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(sys.implementation.cache_tag)
"""


def sources(root: Path) -> list[Path]:
    """The .py files under root, sorted, without caches or tests."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts and not path.name.startswith("test_")
    )


def interpreter(runtime: str = RUNTIME) -> str | None:
    """A Python of the runtime's version: LAMBDA_PYTHON, on PATH, or in pyenv's versions."""
    version = runtime.removeprefix("python")
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which(f"python{version}") or ""]
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}*/bin/python{version}"))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                check=False,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
        except OSError:
            continue
        if found == version:
            return candidate
    return None


def bytecode(root: Path, files: list[Path], python: str) -> dict[str, bytes]:
    """{zip name: .pyc bytes} of the sources, compiled by ``python``."""
    with tempfile.TemporaryDirectory() as tmp:
        args: list[str] = []
        for n, path in enumerate(files):
            args += [str(path), f"{tmp}/{n}.pyc", path.relative_to(root).as_posix()]
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        tag = subprocess.run(
            [python, "-I", "-c", _COMPILE, *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        out = {}
        for n, path in enumerate(files):
            name = path.relative_to(root)
            cached = name.parent / "__pycache__" / f"{name.stem}.{tag}.pyc"
            out[cached.as_posix()] = Path(f"{tmp}/{n}.pyc").read_bytes()
        return out


def build(root: Path, out: Path, runtime: str = RUNTIME) -> int:
    """Write the zip to out and return its size in bytes."""
    files = sources(root)
    contents = {path.relative_to(root).as_posix(): path.read_bytes() for path in files}
    python = interpreter(runtime)
    if python is None:
        print(
            f"no {runtime} interpreter found (set LAMBDA_PYTHON): the zip holds sources only, "
            "and each cold start compiles them",
            file=sys.stderr,
        )
    else:
        contents.update(bytecode(root, files, python))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # builds running at once never share it
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, contents[name], compresslevel=9)
    tmp.replace(out)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="directory whose .py files go in the zip")
    parser.add_argument("output", type=Path, help="zip file to write")
    parser.add_argument("--runtime", default=RUNTIME, help=f"bytecode for (default {RUNTIME})")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source} is not a directory")
    size = build(args.source, args.output, args.runtime)
    print(f"{args.output}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
