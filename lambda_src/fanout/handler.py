"""Lambda entry point: the runtime made once per execution environment, then ``process``.

Settings are read from the environment and validated at init in Lambda (a
bad configuration fails there, loudly, naming the variable), on first use
elsewhere; every invocation of the environment shares the runtime: its
clients, its threads and the publishing rate it has learned.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fanout.invocation import process
from fanout.runtime import Runtime, build_runtime
from fanout.settings import Settings

logger = logging.getLogger("fanout")

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The shared runtime, read from the environment on first use."""
    global _runtime  # noqa: PLW0603 - one per execution environment, by design
    if _runtime is None:
        settings = Settings.from_env(os.environ)
        logger.setLevel(settings.log_level)
        _runtime = build_runtime(settings)
    return _runtime


def reset() -> None:
    """Forget the shared runtime, so the next call reads the environment again."""
    global _runtime  # noqa: PLW0603
    _runtime = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list]:
    """The function's handler: fan the stream batch out to the bus."""
    return process(event, context, runtime())


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_LAMBDA_RUNTIME_API" in os.environ:
    # In Lambda: fail at init with a clear message if the configuration is bad.
    runtime()
