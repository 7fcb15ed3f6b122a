"""The Terraform wrapper builds command lines Terraform 1.x accepts and raises with stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

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
