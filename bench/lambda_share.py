"""One execution environment on the CPU share Lambda gives its memory size.

Lambda allocates CPU in proportion to memory: "At 1,769 MB, a function has the
equivalent of one vCPU" ("Configure Lambda function memory", AWS Lambda
Developer Guide). A child process runs the handler as a warm execution
environment does (its runtime built once, one invocation after another)
against the fake EventBridge endpoint (bench/fake_eventbridge.py, in its own
process, outside the limit), capped at memory/1,769 of one CPU:

- with a Linux CPU controller the child is put in a cgroup with that quota:
  cgroup v2 ``cpu.max``, or cgroup v1 ``cpu.cfs_quota_us`` (the same CFS
  bandwidth control), as a container runtime would;
- without one (no permission), it runs uncapped and its throughput is
  scaled by the approximation records/s = records / max(wall, CPU / share),
  which assumes the work would simply stretch by the CPU it lacks.

The report says which was used.

    python -m bench.lambda_share child URL MEMORY_MB BATCH INVOCATIONS ITEM_BYTES  # the child
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ONE_VCPU_MB = 1769
PERIOD_US = 100_000
_V2 = Path("/sys/fs/cgroup")
_V1 = Path("/sys/fs/cgroup/cpu")


@dataclass(frozen=True)
class Share:
    memory_mb: int
    records_per_s: float
    cpu_us_per_record: float
    capped_by: str  # "cgroup v2", "cgroup v1" or "approximation"


def median(runs: list[Share]) -> Share:
    """The median run's records/s and CPU per record (each the median of its own)."""
    return Share(
        runs[0].memory_mb,
        statistics.median(r.records_per_s for r in runs),
        statistics.median(r.cpu_us_per_record for r in runs),
        runs[0].capped_by,
    )


def share_of(memory_mb: int) -> float:
    return memory_mb / ONE_VCPU_MB


@contextlib.contextmanager
def cpu_cgroup(memory_mb: int) -> Iterator[tuple[str, Path | None]]:
    """A cgroup capping its processes at the memory size's CPU share: (kind, tasks file)."""
    quota = max(1000, int(share_of(memory_mb) * PERIOD_US))
    name = f"fanout-bench-{uuid.uuid4().hex[:8]}"
    made: Path | None = None
    try:
        if (_V2 / "cgroup.controllers").exists() and "cpu" in (
            _V2 / "cgroup.subtree_control"
        ).read_text().split():
            made = _V2 / name
            made.mkdir()
            (made / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            yield "cgroup v2", made / "cgroup.procs"
            return
        if (_V1 / "cpu.cfs_quota_us").exists():
            made = _V1 / name
            made.mkdir()
            (made / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (made / "cpu.cfs_quota_us").write_text(str(quota))
            yield "cgroup v1", made / "tasks"
            return
    except OSError:
        if made is not None:
            with contextlib.suppress(OSError):
                made.rmdir()
        made = None
    try:
        yield "approximation", None
    finally:
        if made is not None:
            with contextlib.suppress(OSError):
                made.rmdir()


def measure(
    url: str, memory_mb: int, batch: int = 100, invocations: int = 20, item_bytes: int = 1024
) -> Share:
    """Records/s of one warm environment at this memory size, against the endpoint at url."""
    with cpu_cgroup(memory_mb) as (kind, tasks):
        env = {**os.environ, "FANOUT_BENCH_TASKS": str(tasks or "")}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.lambda_share",
                "child",
                url,
                str(memory_mb),
                str(batch),
                str(invocations),
                str(item_bytes),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    records = batch * invocations
    wall, cpu = result["wall_s"], result["cpu_s"]
    if kind == "approximation":
        wall = max(wall, cpu / share_of(memory_mb))
    return Share(memory_mb, records / wall, cpu / records * 1e6, kind)


def _child(url: str, memory_mb: int, batch: int, invocations: int, item_bytes: int) -> None:
    tasks = os.environ.get("FANOUT_BENCH_TASKS")
    if tasks:
        Path(tasks).write_text(str(os.getpid()))  # from here on, the CPU share applies
    from bench.strategies import SETTINGS, shipped_runtime  # noqa: PLC0415 - after the cap
    from bench.workload import batch as make_batch  # noqa: PLC0415
    from fanout import process  # noqa: PLC0415

    # PUBLISH_CONCURRENCY as the module sets it: enough for a batch in one round, at most 32
    settings = dataclasses.replace(SETTINGS, publish_concurrency=min(32, -(-batch // 10)))
    runtime = shipped_runtime(url, settings)
    events = [make_batch(batch, item_bytes) for _ in range(invocations + 1)]

    class Context:
        function_name = "bench"
        memory_limit_in_mb = memory_mb

        def __init__(self) -> None:
            self.deadline = time.monotonic() + 900

        def get_remaining_time_in_millis(self) -> int:
            return int((self.deadline - time.monotonic()) * 1000)

    with contextlib.redirect_stdout(io.StringIO()):
        process(events[0], Context(), runtime)  # the environment's first invocation: warm up
        wall, cpu = time.perf_counter(), time.process_time()
        for event in events[1:]:
            response = process(event, Context(), runtime)
            assert response == {"batchItemFailures": []}, response
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall_s": wall, "cpu_s": cpu}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        url, *numbers = sys.argv[2:7]
        _child(url, *(int(a) for a in numbers))
