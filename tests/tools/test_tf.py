"""The Terraform wrapper builds command lines Terraform 1.x accepts, raises with stderr, and
stops an interrupted terraform with everything it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dynamodb_fanout.moto_stack import is_alive
from localrun import tf


class Recorder:
    """Replaces python-terraform's subprocess call; returns canned results."""

    def __init__(self, rc: int = 0, out: str = "", err: str = "") -> None:
        self.commands: list[list[str]] = []
        self.result = (rc, out, err)

    def install(self, root: tf.TerraformRoot, monkeypatch) -> None:
        def cmd(name, *args, **kwargs):
            self.commands.append(root._tf.generate_cmd_string(name, *args, **kwargs))
            root._tf.temp_var_files.clean_up()
            return self.result

        monkeypatch.setattr(root._tf, "cmd", cmd)


@pytest.fixture
def root(tmp_path):
    return tf.TerraformRoot(tmp_path, {"endpoint": "http://127.0.0.1:1"}, state=tmp_path / "s")


def test_destroy_uses_auto_approve_and_no_force(root, monkeypatch):
    recorder = Recorder()
    recorder.install(root, monkeypatch)
    root.destroy()
    (command,) = recorder.commands
    assert "-auto-approve=true" in command and "-force" not in command
    assert any(arg.startswith("-var-file=") for arg in command)
    assert f"-state={root.state}" in command


def test_apply_is_non_interactive_and_auto_approved(root, monkeypatch):
    recorder = Recorder()
    recorder.install(root, monkeypatch)
    root.apply()
    (command,) = recorder.commands
    assert command[:2] == ["terraform", "apply"]
    assert "-auto-approve=true" in command and "-input=false" in command


def test_init_gets_no_state_flag(root, monkeypatch):
    recorder = Recorder()
    recorder.install(root, monkeypatch)
    root.init()
    assert not any(arg.startswith("-state") for arg in recorder.commands[0])


def test_plan_exit_code_two_means_changes(root, monkeypatch):
    Recorder(rc=2, out="  # aws_sqs_queue.q will be updated in-place\n").install(root, monkeypatch)
    plan = root.plan()
    assert plan.has_changes
    assert plan.changes == ["aws_sqs_queue.q will be updated in-place"]


def test_failure_raises_with_terraforms_stderr(root, monkeypatch):
    Recorder(rc=1, err="Error: boom").install(root, monkeypatch)
    with pytest.raises(tf.TerraformError, match="boom") as raised:
        root.apply()
    assert raised.value.returncode == 1


def test_output_decodes_json(root, monkeypatch):
    Recorder(out='{"a": 1}').install(root, monkeypatch)
    assert root.output("x") == {"a": 1}


def test_missing_cli_config_falls_back_to_the_repositorys(monkeypatch, tmp_path):
    config = tmp_path / "terraformrc"
    config.write_text("")
    monkeypatch.setattr(tf, "DEFAULT_CLI_CONFIG", config)
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "absent"))
    assert tf.terraform_environment()["TF_CLI_CONFIG_FILE"] == str(config)
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config.parent / "terraformrc"))
    assert tf.terraform_environment()["TF_CLI_CONFIG_FILE"] == str(Path(config))


def test_a_terraform_that_ignores_the_interrupt_is_killed_with_its_plugins(tmp_path):
    """After the grace period both go: terraform, and the provider it can no longer stop."""
    terraform = tmp_path / "terraform"  # the process name stop_terraform_children looks for
    terraform.symlink_to("/bin/sh")
    plugin_pid_file = tmp_path / "plugin.pid"
    script = f"trap '' INT; sleep 300 & echo $! > {plugin_pid_file}; wait"
    process = subprocess.Popen([str(terraform), "-c", script])
    try:
        deadline = time.monotonic() + 10
        while not plugin_pid_file.exists() or not plugin_pid_file.read_text().strip():
            assert time.monotonic() < deadline, "the stand-in terraform did not start its child"
            time.sleep(0.05)
        plugin = int(plugin_pid_file.read_text())
        tf.stop_terraform_children(grace_s=0.5)
        assert process.poll() is not None, "terraform was not stopped"
        deadline = time.monotonic() + 5
        while is_alive(plugin) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_alive(plugin), "the plugin outlived its killed terraform"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if plugin_pid_file.exists() and plugin_pid_file.read_text().strip():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(plugin_pid_file.read_text()), signal.SIGKILL)
