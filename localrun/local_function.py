"""Run the deployed function's code in this process, configured as deployed.

The handler is loaded from the ``Handler`` string Terraform gave the function
and runs with the function's environment variables read back from the Lambda
API, plus the endpoint and dummy credentials that point boto3 at moto. That
way a local run exercises the same settings a real deployment would, not a
copy of them kept in a test.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class LocalContext:
    """The parts of Lambda's context object the handler uses; the clock runs down."""

    def __init__(self, function_name: str, timeout_s: float, memory_mb: int = 128) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionConfig:
    """What the Lambda API says about the deployed function."""

    name: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    code_sha256: str = ""  # base64 SHA-256 of the deployed zip, as Lambda reports it

    @classmethod
    def from_api(cls, configuration: Mapping[str, Any]) -> FunctionConfig:
        return cls(
            name=configuration["FunctionName"],
            handler=configuration["Handler"],
            timeout_s=int(configuration.get("Timeout", 3)),
            memory_mb=int(configuration.get("MemorySize", 128)),
            environment=dict(configuration.get("Environment", {}).get("Variables", {})),
            code_sha256=configuration.get("CodeSha256", ""),
        )

    def context(self) -> LocalContext:
        """A fresh context per invocation, like Lambda gives."""
        return LocalContext(self.name, self.timeout_s, self.memory_mb)


def zip_sha256(path: Path) -> str:
    """The zip's hash the way Lambda and Terraform's filebase64sha256 report it."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def load_handler(handler: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import ``package.module.function`` the way the Lambda runtime does."""
    module_name, _, function_name = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def _reset_settings(handler: str) -> None:
    """The handler caches settings and clients on first call; drop them if it can."""
    module = importlib.import_module(handler.rpartition(".")[0])
    reset = getattr(module, "reset", None)
    if callable(reset):
        reset()


@contextmanager
def deployed_environment(
    config: FunctionConfig, aws_environment: Mapping[str, str]
) -> Iterator[Callable[[dict[str, Any], Any], Any]]:
    """Yield the function's handler with os.environ set as the function would see it.

    The previous environment is restored afterwards, and the handler's cached
    settings are dropped on the way in and out so the next run reads afresh.
    """
    saved = dict(os.environ)
    os.environ.update(aws_environment)
    os.environ.update(config.environment)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = config.name
    os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"] = str(config.timeout_s)
    try:
        handler = load_handler(config.handler)
        _reset_settings(config.handler)
        yield handler
    finally:
        try:
            _reset_settings(config.handler)
        finally:
            os.environ.clear()
            os.environ.update(saved)
