"""Peak memory of one invocation with a large batch (run in its own process).

    python -m bench.memory RECORDS ITEM_BYTES
prints the peak resident set size in MiB after imports, with the event built
(as the Lambda runtime holds it), and after the handler ran.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.fake_eventbridge import fake_eventbridge
from bench.strategies import events_client, fanout
from bench.workload import batch


def peak_mib() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    records, item_bytes = int(sys.argv[1]), int(sys.argv[2])
    after_imports = peak_mib()
    with fake_eventbridge(latency_ms=0) as server:
        client = events_client(server.url)
        event = batch(records, item_bytes)
        with_event = peak_mib()
        fanout(client, event)
        assert server.stats()[1] == records
    print(f"{after_imports:.1f} {with_event:.1f} {peak_mib():.1f}")


if __name__ == "__main__":
    main()
