"""tools/stage.py: the lines make prints around its stages and the test summary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools import stage

PY = sys.executable


def test_a_stage_passes_output_through_and_logs_pytest_counts(tmp_path: Path, capfd) -> None:
    log = tmp_path / "phases.tsv"
    script = "print('tests/x.py ..'); print('==== 2 passed, 1 deselected in 0.01s ====')"
    assert stage.main(["run", "unit", "--log", str(log), "--", PY, "-c", script]) == 0
    out = capfd.readouterr().out
    assert out.startswith("==> unit\ntests/x.py ..\n")
    assert "<== unit: ok in " in out and out.rstrip().endswith("2 passed, 1 deselected")
    name, verdict, seconds, counts = log.read_text().rstrip("\n").split("\t")
    assert (name, verdict, counts) == ("unit", "ok", "2 passed, 1 deselected")
    assert float(seconds) >= 0


def test_a_failing_stage_keeps_its_exit_status(tmp_path: Path, capfd) -> None:
    log = tmp_path / "phases.tsv"
    assert stage.main(["run", "lint", "--log", str(log), "--", PY, "-c", "exit(3)"]) == 3
    assert "<== lint: FAILED (exit 3) in " in capfd.readouterr().out
    assert log.read_text().split("\t")[1] == "FAILED"


def test_brief_hides_pip_output_unless_the_command_fails(capfd) -> None:
    chatty = (
        "print('Collecting boto3==1.0 (from -r r.txt (line 1))'); "
        "print('Successfully installed a-1 b-2')"
    )
    assert stage.main(["run", "install", "--brief", "--", PY, "-c", chatty]) == 0
    out = capfd.readouterr().out
    assert "Collecting" not in out and "2 packages installed" in out
    failing = "print('ERROR: No matching distribution found for nothing==9'); exit(1)"
    assert stage.main(["run", "install", "--brief", "--", PY, "-c", failing]) == 1
    assert "ERROR: No matching distribution found for nothing==9" in capfd.readouterr().out


def test_the_summary_names_every_phase_and_fails_if_one_did(tmp_path: Path, capsys) -> None:
    log = tmp_path / "phases.tsv"
    log.write_text("lint\tok\t0.2\t\nmodule\tok\t114.0\t33 passed, 195 deselected\n")
    assert stage.main(["summary", "--title", "make test", str(log)]) == 0
    assert capsys.readouterr().out == (
        "make test: passed (2 phases, 1m54s): lint 0.2s; module 1m54s (33 passed)\n"
    )
    with log.open("a") as out:
        out.write("end to end\tFAILED\t3.0\t1 failed, 7 passed\n")
    assert stage.main(["summary", "--title", "make test", str(log)]) == 1
    line = capsys.readouterr().out
    assert line.startswith("make test: FAILED in end to end (3 phases, ")
    assert "end to end FAILED 3.0s (1 failed, 7 passed)" in line


def test_no_command_or_no_log_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        stage.main(["run", "x"])
    assert stopped.value.code == 2
    with pytest.raises(SystemExit) as stopped:
        stage.main(["summary", str(tmp_path / "missing.tsv")])
    assert stopped.value.code == 2
