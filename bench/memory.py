"""Peak memory of one invocation with a large batch (run in its own process).

    python -m bench.memory RECORDS ITEM_BYTES
prints the peak resident set size in MiB after imports, with the event built
(as the Lambda runtime holds it), and after the handler ran.
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3

from bench.fake_eventbridge import fake_eventbridge
from bench.workload import batch
from fanout.dead_letter import DeadLetterQueue
from fanout.handler import Runtime, client_config, process
from fanout.publisher import Publisher
from fanout.settings import Settings


def peak_mib() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    records, item_bytes = int(sys.argv[1]), int(sys.argv[2])
    settings = Settings(event_bus_name="fanoutBus", dlq_url="https://sqs.local/1/dlq")
    after_imports = peak_mib()
    with fake_eventbridge(latency_ms=0) as server:
        client = boto3.client(
            "events",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=client_config(settings.publish_concurrency),
        )
        runtime = Runtime(
            settings,
            Publisher(client, "fanoutBus", 3, settings.publish_concurrency),
            DeadLetterQueue(None, settings.dlq_url, settings.dlq_max_bytes, "fanoutBus"),
        )
        event = batch(records, item_bytes)
        with_event = peak_mib()
        response = process(event, None, runtime)
        assert response == {"batchItemFailures": []}, response
        assert server.stats()[1] == records
    print(f"{after_imports:.1f} {with_event:.1f} {peak_mib():.1f}")


if __name__ == "__main__":
    main()
