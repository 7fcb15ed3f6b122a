"""The handler runs in-process with the deployed function's configuration, then leaves no trace."""

from __future__ import annotations

import os
import sys
import types

from localrun.local_function import FunctionConfig, LocalContext, deployed_environment


def test_context_counts_down_from_the_timeout():
    context = LocalContext("fn", timeout_s=60)
    remaining = context.get_remaining_time_in_millis()
    assert 59_000 < remaining <= 60_000
    assert context.function_name == "fn" and context.aws_request_id
    assert LocalContext("fn", timeout_s=0).get_remaining_time_in_millis() == 0


def test_config_is_read_from_the_lambda_api_shape():
    config = FunctionConfig.from_api(
        {
            "FunctionName": "fn",
            "Handler": "pkg.mod.handler",
            "Timeout": 30,
            "MemorySize": 256,
            "Environment": {"Variables": {"A": "1"}},
        }
    )
    assert (config.name, config.handler, config.timeout_s, config.memory_mb) == (
        "fn",
        "pkg.mod.handler",
        30,
        256,
    )
    assert config.environment == {"A": "1"}
    assert config.context().get_remaining_time_in_millis() > 29_000


def test_environment_is_set_for_the_handler_and_restored_after(monkeypatch):
    module = types.ModuleType("fake_fn")
    seen: dict[str, str | None] = {}
    resets: list[int] = []
    module.handler = lambda event, context: seen.update(
        a=os.environ.get("A"), endpoint=os.environ.get("AWS_ENDPOINT_URL")
    )
    module.reset = lambda: resets.append(1)
    monkeypatch.setitem(sys.modules, "fake_fn", module)
    monkeypatch.delenv("A", raising=False)
    config = FunctionConfig("fn", "fake_fn.handler", 3, 128, {"A": "from-terraform"})

    with deployed_environment(config, {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}) as handler:
        handler({}, None)

    assert seen == {"a": "from-terraform", "endpoint": "http://127.0.0.1:1"}
    assert "A" not in os.environ
    assert len(resets) == 2  # fresh settings on the way in, none left behind
