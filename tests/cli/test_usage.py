"""A wrong invocation is one line on stderr and exit status 2, like every expected failure."""

from __future__ import annotations

import pytest

from dynamodb_fanout.main import main


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["backfill"], "required: --table"),
        (["replay", "--queue-url", "x"], "one of the arguments --on-failure-queue"),
        (["redrive", "--dlq-url", "x"], "required: --queue-url"),
        (["check-pattern", "--pattern", "{}", "--records", "y"], "unrecognized arguments"),
        (["backfill", "--table", "t", "--event-bus", "b", "--segments", "0"], "at least 1"),
        (["redrive", "--queue-url", "q", "--detail-format", "xml"], "invalid choice: 'xml'"),
        (["nosuch"], "invalid choice: 'nosuch'"),
        (["local-run"], "required: --function"),
        (["local-run", "--function", "f", "--batch-size", "10001"], "batch size (1 to 10000)"),
        (["local-run", "--function", "f", "--once", "--follow"], "not allowed with argument"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv, says, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert len(err.splitlines()) == 1, err
    assert says in err and err.startswith("dynamodb-fanout") and "--help)" in err


def test_help_still_prints_the_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["backfill", "--help"])
    assert exited.value.code == 0
    assert "--segments" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["redrive", "replay", "backfill"])
def test_help_states_the_exit_status_and_the_function_option(command, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 all done; 1 it ran but something was left or failed" in out
    assert "2 could not run" in out
    assert "--function FUNCTION" in out
    assert "--json" in out and "--stream-arn STREAM_ARN" in out


@pytest.mark.parametrize(
    "command", ["redrive", "replay", "backfill", "check-pattern", "fetch-event", "local-run"]
)
def test_help_shows_examples_line_by_line(command, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(line.startswith("  ") for line in examples), out
    assert examples[0].startswith(f"  dynamodb-fanout {command} ")
