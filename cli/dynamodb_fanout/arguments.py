"""Argument types shared by the subcommands: checked where they are parsed, one line if wrong."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def rate(text: str) -> float:
    """A positive number of events per second."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of events per second")
    return value


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, but the epilog (examples, exit status) keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n".join(
            line if line.startswith("  ") or not line else fill(line, width, indent)
            for line in text.splitlines()
        )


EXIT_STATUS = (
    "Exit status: 0 all done; 1 it ran but something was left or failed (the summary says "
    "what and why); 2 could not run (one line on stderr); 130 interrupted."
)
