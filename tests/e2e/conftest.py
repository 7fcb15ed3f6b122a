"""A SIGTERM to pytest unwinds like Ctrl-C, so the stack fixture still stops moto_server."""

from __future__ import annotations

import signal

import pytest


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session", autouse=True)
def sigterm_unwinds():
    previous = signal.signal(signal.SIGTERM, _interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)
