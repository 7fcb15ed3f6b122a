"""Peak memory of one invocation, measured as Lambda runs it (in its own process).

    python -m bench.memory PAYLOAD_FILE
reads the invocation payload as bytes and parses it with json.loads, as the
Lambda runtime does, then runs the handler on it with a real (stubbed-send)
events client. Prints the peak resident set size in MiB: after imports and
the client; the peak while parsing; the resident size with the event parsed;
the peak while the handler ran; the invocation's peak; the payload bytes.
The handler's overhead is its peak less the resident size with the event.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from bench.hot_path import Context, stubbed_runtime
from fanout import process
from fanout.settings import Settings

SETTINGS = Settings(event_bus_name="fanoutBus", dlq_url="https://sqs.us-east-1.amazonaws.com/1/q")


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_mib() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    return _status_mib("VmHWM")


def rss_mib() -> float:
    return _status_mib("VmRSS")


def reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5), if allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main() -> None:
    runtime = stubbed_runtime(SETTINGS)
    after_init = peak_mib()
    payload = Path(sys.argv[1]).read_bytes()
    event = json.loads(payload)  # the runtime keeps the payload bytes during the invocation
    parse_peak = peak_mib()
    with_event = rss_mib()
    reset_peak()  # else the handler's peak hides under json.loads's
    with contextlib.redirect_stdout(io.StringIO()):
        response = process(event, Context(), runtime)
    assert response == {"batchItemFailures": []}, response
    handler_peak = peak_mib()
    print(
        f"{after_init:.1f} {parse_peak:.1f} {with_event:.1f} {handler_peak:.1f} "
        f"{max(parse_peak, handler_peak):.1f} {len(payload)}"
    )


if __name__ == "__main__":
    main()
