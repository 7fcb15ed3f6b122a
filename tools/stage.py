"""One line per stage of a make target, with its time, and a summary of several stages.

The Makefile runs its slow steps (installing, each phase of the tests) through
this script so a first run never sits silent: a line when a stage starts, a
line with its time when it ends, and `make test` closes with one line that
names every phase. Standard library only: it runs before the venv exists.

    python3 tools/stage.py run NAME [--log FILE] [--brief] -- COMMAND...
    python3 tools/stage.py start NAME --output FILE [--log FILE] -- COMMAND...
    python3 tools/stage.py wait NAME --output FILE
    python3 tools/stage.py summary --title "make test" FILE

``--brief`` is for chatty, slow commands (pip): instead of their output, a
progress line every few seconds with the latest thing they did; the output is
printed only when the command fails.

``start`` runs a stage in the background, its lines and output going to a file,
so that a stage that mostly waits (Terraform polling moto_server) overlaps the
ones that use the cores; ``wait`` blocks until it is done, prints that file and
exits with the stage's status. The background stage stays in make's process
group, so Ctrl-C reaches it as it reaches the stages in the foreground. Each
log row carries the stage's start and end time, and the summary gives the wall
time of the stages together.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

HEARTBEAT_S = 5.0
FAILURE_TAIL_LINES = 60
# pytest's closing line, e.g. "==== 312 passed, 2 skipped in 41.20s ====".
PYTEST_CLOSING = re.compile(r"^=+ (?P<counts>.*?) in [\d.]+s(?: \([^)]*\))? =+$")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# pip lines worth showing as progress (everything else, e.g. warnings about
# unreachable index locations, stays hidden unless the install fails).
PIP_PROGRESS = re.compile(r"^(Collecting|Downloading|Installing collected|Successfully installed)")


def clock(seconds: float) -> str:
    """Seconds as people read them: 7.2s, 3m05s."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def say(message: str) -> None:
    print(message, flush=True)


def status_file(output: Path) -> Path:
    """Where a background stage leaves its exit status once it is done."""
    return output.with_name(output.name + ".status")


class Brief:
    """Shows a slow command's progress as one line every few seconds."""

    def __init__(self, name: str, started: float) -> None:
        self.name = name
        self.started = started
        self.latest = "starting"
        self.collected = 0
        self.outcome = ""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def see(self, line: str) -> None:
        """Keep the latest pip step worth showing (pip says one per package)."""
        text = line.strip()
        what = text.split(" (from ")[0].split(" ", 1)[-1]
        if text.startswith(("Collecting ", "Processing ")):
            self.collected += 1
            self.latest = Path(what).name
        elif text.startswith("Downloading "):
            self.latest = f"downloading {what}"
        elif text.startswith("Installing collected packages:"):
            self.latest = f"installing {text.count(',') + 1} packages"
        elif text.startswith("Successfully installed "):
            self.outcome = f"{len(text.split()) - 2} packages installed"
        elif text.startswith("Requirement already satisfied") and not self.outcome:
            self.outcome = "already installed"

    def _beat(self) -> None:
        while not self.done.wait(HEARTBEAT_S):
            counted = f"{self.collected} packages collected, " if self.collected else ""
            latest = self.latest if len(self.latest) <= 60 else self.latest[:57] + "..."
            say(f"    ... {clock(time.monotonic() - self.started)}: {counted}{latest}")

    def __enter__(self) -> Brief:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def child_environment() -> dict[str, str]:
    """Unbuffered output through the pipe; pytest's colours kept on a terminal."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if sys.stdout.isatty() and "NO_COLOR" not in env:
        env.setdefault("PY_COLORS", "1")
    return env


def passthrough(fd: int) -> str:
    """Copy a command's output as it comes (pytest's progress dots too); return
    the counts of pytest's closing line if one went by."""
    closing = ""
    pending = b""
    while chunk := os.read(fd, 65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            text = ANSI_ESCAPE.sub("", line.decode(errors="replace")).strip()
            match = PYTEST_CLOSING.match(text)
            if match:
                closing = match.group("counts")
    return closing


def run(name: str, command: list[str], log: Path | None, brief: bool) -> int:
    """Run one stage; return the command's exit status."""
    say(f"==> {name}")
    started = time.monotonic()
    began = time.time()
    tail: deque[str] = deque(maxlen=FAILURE_TAIL_LINES)
    closing = ""
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=brief,
            env=child_environment(),
        )
    except OSError as error:
        say(f"<== {name}: FAILED to start {command[0]}: {error}")
        return 127
    assert process.stdout is not None
    try:
        if brief:
            with Brief(name, started) as progress:
                for line in process.stdout:
                    tail.append(line)
                    progress.see(line)
            closing = progress.outcome
        else:
            closing = passthrough(process.stdout.fileno())
        status = process.wait()
    except KeyboardInterrupt:
        process.wait()
        say(f"<== {name}: interrupted after {clock(time.monotonic() - started)}")
        raise
    elapsed = time.monotonic() - started
    if status != 0 and brief:
        sys.stdout.writelines(tail)
    verdict = "ok" if status == 0 else f"FAILED (exit {status})"
    detail = f", {closing}" if closing else ""
    say(f"<== {name}: {verdict} in {clock(elapsed)}{detail}")
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            verdict = "ok" if status == 0 else "FAILED"
            out.write(
                f"{name}\t{verdict}\t{elapsed:.1f}\t{closing}\t{began:.1f}\t{time.time():.1f}\n"
            )
    return status


def start(name: str, command: list[str], log: Path | None, output: Path) -> int:
    """Start `run` for this stage in the background, its stdout in output; return at once."""
    output.parent.mkdir(parents=True, exist_ok=True)
    status_file(output).unlink(missing_ok=True)
    stage = [sys.executable, str(Path(__file__).resolve()), "run", name]
    stage += ["--log", str(log)] if log is not None else []
    stage += ["--status", str(status_file(output)), "--", *command]
    with output.open("wb") as out:
        subprocess.Popen(stage, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    say(f"==> {name}: started in the background, output in {output}")
    return 0


def wait(name: str, output: Path, poll_s: float = 0.2) -> int:
    """Wait for a background stage, print what it printed, return its exit status."""
    done = status_file(output)
    interrupted = False
    while not done.exists():
        try:
            time.sleep(poll_s)
        except KeyboardInterrupt:
            # The stage got the same Ctrl-C; give it time to unwind (moto_server stopped).
            interrupted, poll_s = True, 0.5
    sys.stdout.write(output.read_text(errors="replace"))
    sys.stdout.flush()
    status = int(done.read_text().strip() or 1)
    return 130 if interrupted else status


def summary(title: str, log: Path) -> int:
    """One line naming every stage in the log; exit 1 if any failed or none ran."""
    rows = [line.split("\t") for line in log.read_text().splitlines() if line.strip()]
    if not rows:
        say(f"{title}: FAILED, no stage ran")
        return 1
    timed = [row for row in rows if len(row) >= 6]
    if len(timed) == len(rows):  # stages that overlapped count once: wall time
        total = max(float(r[5]) for r in rows) - min(float(r[4]) for r in rows)
    else:
        total = sum(float(row[2]) for row in rows)
    failed = [row[0] for row in rows if row[1] != "ok"]
    parts = []
    for name, verdict, seconds, closing, *_ in rows:
        # "187 passed, 41 deselected": what other phases ran is no news here
        counts = ", ".join(c for c in closing.split(", ") if not c.endswith(" deselected"))
        mark = " FAILED" if verdict != "ok" else ""
        parts.append(f"{name}{mark} {clock(float(seconds))}" + (f" ({counts})" if counts else ""))
    verdict = f"FAILED in {', '.join(failed)}" if failed else "passed"
    say(f"{title}: {verdict} ({len(rows)} phases, {clock(total)}): {'; '.join(parts)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/stage.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="action", required=True)
    run_parser = commands.add_parser("run", help="run one stage")
    run_parser.add_argument("name")
    run_parser.add_argument("--log", type=Path, help="append the stage's result to this file")
    run_parser.add_argument("--brief", action="store_true", help="progress lines, not output")
    run_parser.add_argument("--status", type=Path, help=argparse.SUPPRESS)  # set by start
    start_parser = commands.add_parser("start", help="run one stage in the background")
    start_parser.add_argument("name")
    start_parser.add_argument("--log", type=Path, help="append the stage's result to this file")
    start_parser.add_argument("--output", type=Path, required=True, help="the stage's output")
    wait_parser = commands.add_parser("wait", help="wait for a background stage")
    wait_parser.add_argument("name")
    wait_parser.add_argument("--output", type=Path, required=True, help="as given to start")
    summary_parser = commands.add_parser("summary", help="one line for the stages in a log")
    summary_parser.add_argument("--title", default="stages")
    summary_parser.add_argument("log", type=Path)
    argv = sys.argv[1:] if argv is None else argv
    # Everything after the first "--" is the command, options and all.
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if args.action == "summary":
        if not args.log.is_file():
            parser.error(f"no stage log at {args.log}")
        return summary(args.title, args.log)
    if args.action == "wait":
        return wait(args.name, args.output)
    if not command:
        parser.error("give the command after --")
    if args.action == "start":
        return start(args.name, command, args.log, args.output)
    status = 130
    try:
        status = run(args.name, command, args.log, args.brief)
    except KeyboardInterrupt:
        pass
    finally:
        if args.status is not None:
            args.status.write_text(f"{status}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
