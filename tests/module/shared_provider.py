"""One aws provider process served to every Terraform command that never configures it.

`terraform test` with `mock_provider` and `terraform validate` ask the provider only for
its schema and to validate configuration. Terraform normally starts the provider binary
for every step of every run (two starts per run block, ~1 s of CPU each for the aws
provider), which was most of the module phase's time. Started once with `-debug`, the
same binary serves them all through TF_REATTACH_PROVIDERS, Terraform's documented way to
use a running provider. Commands that configure the provider (plan, apply against
moto_server) never get this: a provider process is configured once.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REATTACH = re.compile(r"TF_REATTACH_PROVIDERS='(\{.*\})'")
START_TIMEOUT_S = 60.0


def provider_binary(root: Path) -> Path | None:
    """The aws provider `terraform init` installed under root/.terraform, if any."""
    found = sorted(
        (root / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").glob(
            "*/*/terraform-provider-aws*"
        )
    )
    return found[-1] if found else None


@contextlib.contextmanager
def serve(binary: Path, log: Path) -> Iterator[str]:
    """Run the provider in debug mode; yield the TF_REATTACH_PROVIDERS value; stop it.

    The process is stopped by its own id, also when the block fails. Raises
    RuntimeError (with the provider's output) when it does not start serving. The
    provider's log is kept only when something failed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(binary), "-debug"], stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
    try:
        yield _wait_for_address(proc, log)
    finally:
        _stop(proc)
    log.unlink(missing_ok=True)


def _wait_for_address(proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = REATTACH.search(log.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(
        f"{log.name}: the provider did not start serving (exit {proc.poll()}):\n"
        + log.read_text(encoding="utf-8", errors="replace")[-2000:]
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
