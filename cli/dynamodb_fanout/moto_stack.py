"""A private moto_server: for `check-pattern` without an AWS account, the demo and the tests.

moto_server stands in for AWS: Terraform and boto3 talk to it over HTTP on
127.0.0.1. Each run gets its own server on a free port, so runs never share
state, and the server is stopped by its own process id when the block exits,
including on an exception or Ctrl-C, so nothing is left listening. The server
is moto's app as ``dynamodb_fanout.moto_serve`` serves it, every response sent
in one piece (why: that module's docstring).

This module needs only the standard library; the server process needs moto
(the package's ``local`` extra: ``pip install "dynamodb-stream-fanout[local]"``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# The directory that holds this package: the server process imports it from there,
# whether the package is installed or run from a checkout (cli/).
PACKAGE_PARENT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
REGION = "us-east-1"  # moto stamps stream records with us-east-1 whatever the region
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h

# Credentials moto accepts; never real ones, so nothing can reach AWS by mistake.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoStartError(RuntimeError):
    """moto_server did not answer in time; the message carries its log tail."""


@dataclass(frozen=True)
class MotoServer:
    """A running moto_server: where it listens and which process it is."""

    pid: int
    port: int
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def aws_environment(self) -> dict[str, str]:
        """Environment that points boto3 (and the handler) at this server."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def reset(self) -> None:
        """Drop every resource moto holds, without restarting the process."""
        url = f"{self.endpoint}/moto-api/reset"  # loopback URL we built, not user input
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# What the server process imports: moto's server and the web framework it runs on.
SERVER_MODULES = ("moto", "werkzeug", "flask", "flask_cors")


def moto_installed() -> bool:
    """Whether this interpreter can run the server (moto with its server's modules)."""
    return all(importlib.util.find_spec(name) is not None for name in SERVER_MODULES)


def moto_server_command() -> list[str]:
    """moto_server as ``dynamodb_fanout.moto_serve`` runs it: each response in one send.

    The running interpreter's moto; the package is found through PYTHONPATH (``_child_env``).
    """
    return [sys.executable, "-m", "dynamodb_fanout.moto_serve"]


def _child_env() -> dict[str, str]:
    """Our environment, with this package importable in the server process."""
    env = dict(os.environ)
    paths = [str(PACKAGE_PARENT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def is_alive(pid: int) -> bool:
    """True while a process with this id exists (and is not a reaped zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, SIGTERM it if we die without cleaning up.

    The server has its own session (Ctrl-C must not reach it before we stop it
    deliberately), so without this a ``kill -9`` of ours would orphan it.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_ready(process: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MotoStartError(f"moto_server exited with {process.returncode}: {_tail(log_path)}")
        if _answers(endpoint):
            return
        time.sleep(0.1)
    raise MotoStartError(f"moto_server did not answer within {START_TIMEOUT_S}s: {_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop this one process: SIGTERM, then SIGKILL if it lingers; always reap it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def moto_server(log_dir: Path, attempts: int = 3) -> Iterator[MotoServer]:
    """Start moto_server on a free loopback port, yield it, stop it by pid on exit.

    The server runs in its own session so that Ctrl-C in the terminal reaches
    only us; our ``finally`` then stops the server deliberately. A port can be
    taken between choosing and binding, so starting is retried a few times.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    try:
        for attempt in range(1, attempts + 1):
            port = free_port()
            log_path = log_dir / f"moto_server-{port}.log"
            log = log_path.open("wb")
            process = subprocess.Popen(
                [*moto_server_command(), "-H", HOST, "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=_child_env(),
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
            try:
                _wait_until_ready(process, f"http://{HOST}:{port}", log_path)
                break
            except MotoStartError:
                stop(process)
                log.close()
                if attempt == attempts:
                    raise
        assert process is not None
        yield MotoServer(pid=process.pid, port=port, log_path=log_path)
    finally:
        if process is not None:
            stop(process)
        if log is not None:
            log.close()
