"""Progress of long work on stderr: a bar redrawn in place on a terminal,
a plain line every few seconds otherwise (CI logs, pipes), nothing with --quiet.

No dependency: a line of text is all a progress bar needs.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

WIDTH = 24


class Progress:
    """Counts shared by worker threads; ``show`` draws at most every ``every_s``."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        out: TextIO | None = None,
        enabled: bool = True,
        every_s: float | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.out = out or sys.stderr
        self.enabled = enabled
        self.tty = self.out.isatty()
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 5.0)
        self.done = 0
        self.notes: dict[str, int] = {}
        self.started = time.monotonic()
        self._shown = 0.0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Say at once that the work has begun (then every ``every_s``)."""
        with self._lock:
            self._shown = time.monotonic()
            self._draw(final=False)

    def add(self, count: int, **notes: int) -> None:
        with self._lock:
            self.done += count
            for name, value in notes.items():
                self.notes[name] = self.notes.get(name, 0) + value
            now = time.monotonic()
            if now - self._shown >= self.every_s:
                self._shown = now
                self._draw(final=False)

    def finish(self) -> None:
        with self._lock:
            self._draw(final=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _draw(self, final: bool) -> None:
        if not self.enabled:
            return
        elapsed = self.elapsed()
        rate = self.done / elapsed if elapsed > 0 else 0.0
        notes = "".join(f", {value} {name}" for name, value in self.notes.items() if value)
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * WIDTH)
            head = f"{self.label} [{bar:<{WIDTH}}] {self.done}/~{self.total}"
        else:
            head = f"{self.label} {self.done}"
        text = f"{head}{notes}, {elapsed:.0f}s, {rate:,.0f}/s"
        if self.tty:
            self.out.write("\r" + text + ("\n" if final else "\x1b[K"))
        else:
            self.out.write(text + "\n")
        self.out.flush()
