"""The provider process the module checks share starts, serves, and is gone afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynamodb_fanout.moto_stack import is_alive

from . import shared_provider

pytestmark = pytest.mark.module


def test_the_provider_serves_and_is_stopped_by_its_pid(module_init: Path, tmp_path: Path) -> None:
    binary = shared_provider.provider_binary(module_init)
    assert binary is not None
    log = tmp_path / "provider.log"
    with shared_provider.serve(binary, log) as address:
        (attach,) = json.loads(address).values()
        pid = attach["Pid"]
        assert is_alive(pid)
        assert attach["Addr"]["Network"] == "unix"
    assert not is_alive(pid), "the provider outlived its block"
    assert not log.exists(), "a clean run keeps no log"


def test_a_provider_that_does_not_serve_fails_with_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "terraform-provider-aws"
    fake.write_text("#!/bin/sh\necho 'flag provided but not defined: -debug'\nexit 2\n")
    fake.chmod(0o755)
    log = tmp_path / "provider.log"
    with (
        pytest.raises(RuntimeError, match=r"(?s)did not start serving.*flag provided"),
        shared_provider.serve(fake, log),
    ):
        pass
    assert log.exists(), "the log of a failed start is kept"
