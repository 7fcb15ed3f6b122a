"""tools/stage.py: the lines make prints around its stages and the test summary."""

from __future__ import annotations

import sys
import time
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
    name, verdict, seconds, counts, began, ended = log.read_text().rstrip("\n").split("\t")
    assert (name, verdict, counts) == ("unit", "ok", "2 passed, 1 deselected")
    assert float(seconds) >= 0
    assert float(ended) - float(began) == pytest.approx(float(seconds), abs=0.2)


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


def test_a_background_stage_overlaps_and_wait_prints_it(tmp_path: Path, capfd) -> None:
    log, output = tmp_path / "phases.tsv", tmp_path / "e2e.out"
    slow = "import time; time.sleep(1.0); print('==== 3 passed in 1.00s ====')"
    started = time.monotonic()
    assert (
        stage.main(
            ["start", "e2e", "--log", str(log), "--output", str(output), "--", PY, "-c", slow]
        )
        == 0
    )
    assert time.monotonic() - started < 0.9, "start must not wait for the stage"
    assert f"==> e2e: started in the background, output in {output}" in capfd.readouterr().out
    fast = "print('==== 2 passed in 0.01s ====')"
    assert stage.main(["run", "unit", "--log", str(log), "--", PY, "-c", fast]) == 0
    assert stage.main(["wait", "e2e", "--output", str(output)]) == 0
    out = capfd.readouterr().out
    assert "==> e2e\n" in out and "<== e2e: ok in " in out and out.rstrip().endswith("3 passed")
    rows = [line.split("\t") for line in log.read_text().splitlines()]
    assert [row[0] for row in rows] == ["unit", "e2e"]
    assert all(len(row) == 6 for row in rows)

    assert stage.main(["summary", "--title", "make test", str(log)]) == 0
    line = capsys_line(capfd)
    wall = max(float(r[5]) for r in rows) - min(float(r[4]) for r in rows)
    assert f"(2 phases, {stage.clock(wall)})" in line, line  # overlapping stages count once
    assert wall < sum(float(r[2]) for r in rows) + 0.5


def test_a_failing_background_stage_fails_the_wait(tmp_path: Path, capfd) -> None:
    output = tmp_path / "e2e.out"
    assert stage.main(["start", "e2e", "--output", str(output), "--", PY, "-c", "exit(4)"]) == 0
    assert stage.main(["wait", "e2e", "--output", str(output)]) == 4
    assert "<== e2e: FAILED (exit 4)" in capfd.readouterr().out


def capsys_line(capfd) -> str:
    return capfd.readouterr().out.strip()
