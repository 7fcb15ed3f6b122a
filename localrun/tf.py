"""The one place that drives Terraform through python-terraform.

python-terraform 0.10.1 predates Terraform 1.x; only some call forms still
produce valid command lines (``-force`` is gone, ``-auto-approve`` must be
explicit, ``output -json NAME`` returns the bare value). Those forms live
here, every failure raises with Terraform's own stderr, and callers never
touch python_terraform directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLI_CONFIG = REPO_ROOT / "build" / "terraformrc"

# `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes present.
PLAN_NO_CHANGES = 0
PLAN_HAS_CHANGES = 2


class TerraformError(RuntimeError):
    """A Terraform command failed; ``stderr`` is what Terraform printed."""

    def __init__(self, command: str, returncode: int, stdout: str, stderr: str) -> None:
        self.command = command
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"terraform {command} exited with {returncode}:\n{stderr.strip()}")


@dataclass
class PlanResult:
    """Outcome of a detailed-exitcode plan; ``changes`` lists the resources that differ."""

    has_changes: bool
    stdout: str
    changes: list[str] = field(default_factory=list)


def terraform_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ plus the CLI config (local provider mirror) and non-interactive mode.

    The repository's config (written by ``make tfrc``) is used when none is set
    or the one set does not exist, as Terraform would otherwise ignore it and
    go to the public registry.
    """
    env = dict(os.environ)
    configured = env.get("TF_CLI_CONFIG_FILE", "")
    if (not configured or not Path(configured).exists()) and DEFAULT_CLI_CONFIG.exists():
        env["TF_CLI_CONFIG_FILE"] = str(DEFAULT_CLI_CONFIG)
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Process:
    """One live process as Linux /proc/<pid>/stat tells it."""

    pid: int
    name: str
    ppid: int
    session: int


def processes() -> list[Process]:
    """Every live (not zombie) process, read from Linux /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            name = text[text.index("(") + 1 : text.rindex(")")]
            found.append(Process(int(stat.parent.name), name, int(fields[1]), int(fields[3])))
    return found


def child_pids(parent: int | None = None, name: str | None = None) -> list[int]:
    """Process ids of the children of ``parent`` (default: this process), by name if given.

    Read from Linux /proc, because python-terraform does not hand out its process.
    """
    parent = os.getpid() if parent is None else parent
    return [p.pid for p in processes() if p.ppid == parent and name in (None, p.name)]


def stop_terraform_children(grace_s: float = 30.0) -> None:
    """On Ctrl-C, let our terraform child stop cleanly (it saves state on SIGINT).

    python-terraform does not hand out the process, so it is found by parent
    id. A terminal's Ctrl-C reaches terraform anyway; this covers a SIGINT sent
    to this process alone, which would otherwise leave terraform running. A
    terraform still running after the grace period is killed with its provider
    plugins, which it can no longer stop itself.
    """
    for pid in child_pids(name="terraform"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + grace_s
        while not _reaped(pid):
            if time.monotonic() > deadline:
                plugins = child_pids(pid)
                for victim in (pid, *plugins):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(victim, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.2)


def _reaped(pid: int) -> bool:
    """True once our child has exited (and is collected, so no zombie stays)."""
    try:
        return os.waitpid(pid, os.WNOHANG) != (0, 0)
    except ChildProcessError:
        return True


class TerraformRoot:
    """A Terraform root module (a directory) with fixed variables and environment."""

    def __init__(
        self,
        working_dir: Path,
        variables: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        state: Path | None = None,
    ) -> None:
        """``state`` keeps this run's state outside the root (one file per run)."""
        self.working_dir = Path(working_dir)
        self.variables = dict(variables or {})
        self.env = terraform_environment(env)
        self.state = Path(state).resolve() if state else None
        self.timings: dict[str, float] = {}
        self._tf = Terraform(
            working_dir=str(self.working_dir),
            variables=self.variables,
            state=str(self.state) if self.state else None,
        )

    def _run(self, name: str, call: Any, *args: Any, ok: tuple[int, ...] = (0,), **kwargs: Any):
        """Run one python-terraform call with our environment; raise unless rc is in ok."""
        saved = dict(os.environ)
        started = time.monotonic()
        os.environ.clear()
        os.environ.update(self.env)
        try:
            with warnings.catch_warnings():  # python-terraform logs with the deprecated warn()
                warnings.simplefilter("ignore", DeprecationWarning)
                rc, out, err = call(*args, **kwargs)
        except KeyboardInterrupt:
            stop_terraform_children()
            raise
        finally:
            os.environ.clear()
            os.environ.update(saved)
            self.timings[name] = time.monotonic() - started
        if rc not in ok:
            raise TerraformError(name, rc, out or "", err or "")
        return rc, out or "", err or ""

    @property
    def _state(self) -> dict[str, str]:
        return {"state": str(self.state)} if self.state else {}

    def remove_state(self) -> None:
        """Delete this run's state file and its backup (the resources died with the server)."""
        if self.state:
            for path in (self.state, self.state.with_name(self.state.name + ".backup")):
                path.unlink(missing_ok=True)

    def init(self) -> None:
        # init has no -state flag; python-terraform would add it from the default.
        self._run("init", self._tf.init, input=False, state=None)

    def apply(self) -> None:
        self._run("apply", self._tf.apply, skip_plan=True)

    def plan(self) -> PlanResult:
        """Plan with -detailed-exitcode; exit 2 (changes) is a result, not an error."""
        ok = (PLAN_NO_CHANGES, PLAN_HAS_CHANGES)
        rc, out, _ = self._run("plan", self._tf.plan, detailed_exitcode=IsFlagged, ok=ok)
        changes = [
            line.strip().removeprefix("# ")
            for line in out.splitlines()
            if line.strip().startswith("# ") and (" will be " in line or " must be " in line)
        ]
        return PlanResult(has_changes=rc == PLAN_HAS_CHANGES, stdout=out, changes=changes)

    def destroy(self) -> None:
        self._run("destroy", self._tf.destroy, force=IsNotFlagged, auto_approve=True)

    def output(self, name: str) -> Any:
        """One output's value, decoded from JSON (Terraform 1.x prints the bare value)."""
        _, out, _ = self._run("output", self._tf.output_cmd, name, json=IsFlagged, **self._state)
        return json.loads(out)

    def outputs(self) -> dict[str, Any]:
        """Every output as name -> value."""
        _, out, _ = self._run("output", self._tf.output_cmd, json=IsFlagged, **self._state)
        return {name: entry["value"] for name, entry in json.loads(out).items()}
