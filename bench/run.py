"""Benchmarks: the fan-out against the strategies of the older implementations.

    python -m bench.run [--records 1000] [--latency-ms 20] [--write BENCHMARKS.md]

All three strategies send the same records through real boto3 clients to
one fake EventBridge on 127.0.0.1 that answers after a fixed latency:
- one PutEvents call per record, in series (the original Python app);
- chunks of 10 entries, in series (the archived Java app);
- this handler: size-aware packing, requests sent by a small thread pool.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fake_eventbridge import fake_eventbridge
from bench.strategies import (
    SETTINGS,
    baseline_entries,
    chunks_of_ten,
    events_client,
    fanout,
    one_per_record,
)
from bench.workload import batch
from fanout.batching import pack
from fanout.records import convert, decode
from tools.package import build

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN bench -->", "<!-- END bench -->"


def timed_calls(
    strategy: Callable[[Any, dict[str, Any]], None], event: dict[str, Any], latency_ms: float
) -> tuple[float, int]:
    """(wall seconds, PutEvents calls) for one strategy on a fresh fake endpoint."""
    with fake_eventbridge(latency_ms) as server:
        client = events_client(server.url)
        client.put_events(Entries=baseline_entries(batch(1, 100))[:1])  # warm the connection
        calls_before, entries_before = server.stats()
        started = time.perf_counter()
        strategy(client, event)
        elapsed = time.perf_counter() - started
        calls, entries = server.stats()
        assert entries - entries_before == len(event["Records"]), "every record must arrive"
        return elapsed, calls - calls_before


def cpu_per_record(records: int, item_bytes: int, repeat: int = 7) -> tuple[float, float]:
    """(µs per record for decode+convert+size+pack, µs for one json.dumps of the record)."""
    event = batch(records, item_bytes)
    ours, raw = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        pack(convert(decode(i, r), SETTINGS) for i, r in enumerate(event["Records"]))
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        for r in event["Records"]:
            json.dumps(r)
        raw.append(time.perf_counter() - started)
    return min(ours) / records * 1e6, min(raw) / records * 1e6


def peak_memory(records: int, item_bytes: int) -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", str(records), str(item_bytes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    after_imports, with_event, peak = out.stdout.split()[-3:]
    return float(after_imports), float(with_event), float(peak)


def import_ms(runs: int = 7) -> float:
    code = (
        "import time, boto3; t = time.perf_counter(); import fanout.handler; "
        "print((time.perf_counter() - t) * 1000)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env={"PYTHONPATH": str(ROOT / "lambda_src"), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def zip_bytes() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        return build(ROOT / "lambda_src", Path(tmp) / "fanout.zip")


def report(args: argparse.Namespace) -> str:
    event = batch(args.records, 1024)
    results = {
        name: timed_calls(fn, event, args.latency_ms)
        for name, fn in [
            ("one PutEvents per record, in series (original Python)", one_per_record),
            ("chunks of 10, in series (archived Java)", chunks_of_ten),
            (f"this handler (packed, {SETTINGS.publish_concurrency} threads)", fanout),
        ]
    }
    (slow_s, _), (tens_s, _), (ours_s, ours_calls) = results.values()
    us_ours, us_raw = cpu_per_record(2000, 1024)
    imports, with_event, peak = peak_memory(10_000, 4096)
    _, lambda_event, lambda_peak = peak_memory(1400, 4096)
    lines = [
        f"Command: `make bench` (`python -m bench.run --records {args.records} "
        f"--latency-ms {args.latency_ms}`), {time.strftime('%Y-%m-%d')}, "
        f"Python {platform.python_version()}, {platform.machine()}, 2 cores.",
        "",
        f"PutEvents against a fake EventBridge on 127.0.0.1 answering after {args.latency_ms} ms, "
        f"{args.records} records of ~1 KB:",
        "",
        "| strategy | PutEvents calls | wall time | records/s |",
        "|---|---:|---:|---:|",
    ]
    for name, (seconds, calls) in results.items():
        lines.append(f"| {name} | {calls} | {seconds:.2f} s | {args.records / seconds:,.0f} |")
    minimum = -(-args.records // 10)
    lines += [
        "",
        "| measure | result | goal |",
        "|---|---:|---|",
        f"| PutEvents calls for {args.records} records | {ours_calls} | the minimum, {minimum} |",
        f"| speed-up over one call per record | {slow_s / ours_s:.1f}x | ≥ 20x |",
        f"| speed-up over chunks of 10 in series | {tens_s / ours_s:.1f}x | ≥ 6x |",
        f"| CPU per 1 KB record (decode, convert, size, pack) | {us_ours:.1f} µs | |",
        f"| one `json.dumps` of the same raw record | {us_raw:.1f} µs | |",
        f"| ratio | {us_ours / us_raw:.2f}x | ≤ 3x |",
        f"| peak RSS, 10,000 records of 4 KB in one invocation | {peak:.0f} MiB "
        "| ≤ 128 MB (122 MiB) |",
        f"| … of which the event itself (imports {imports:.0f} MiB, event built "
        f"{with_event:.0f} MiB) | handler adds {peak - with_event:.0f} MiB | |",
        f"| peak RSS, 1,400 records of 4 KB (a 6 MB Lambda payload) | {lambda_peak:.0f} MiB "
        f"(handler adds {lambda_peak - lambda_event:.0f} MiB) | ≤ 128 MB (122 MiB) |",
        f"| deployment zip | {zip_bytes():,} bytes | ≤ 50 KB |",
        f"| import of fanout.handler with boto3 already imported (median of 7) "
        f"| {import_ms():.1f} ms | ≤ 50 ms |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--write", type=Path, help="replace the bench section of this file")
    args = parser.parse_args(argv)
    text = report(args)
    print(text)
    if args.write:
        current = args.write.read_text() if args.write.exists() else f"{BEGIN}\n{END}\n"
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        args.write.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
