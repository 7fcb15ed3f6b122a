"""make invoke: the entries are printed as sent, numbers digit for digit; a file
that is not a stream event is refused with one line that says what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun import invoke

EVENTS = Path(__file__).resolve().parents[2] / "examples" / "events"
MIXED = EVENTS / "mixed-batch.json"


@pytest.fixture(autouse=True)
def _no_endpoint(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def good_records(path: Path) -> int:
    return sum("dynamodb" in r for r in json.loads(path.read_text())["Records"])


def test_invoke_prints_entries_dead_letters_and_the_response(capsys) -> None:
    good = good_records(MIXED)
    assert invoke.main([str(MIXED)]) == 0
    out = capsys.readouterr().out
    assert f"== {good} PutEvents entries sent in {-(-good // 10)} call(s)" in out
    assert '{"batchItemFailures": []}' in out


def test_the_dead_letter_line_names_the_record(capsys) -> None:
    records = json.loads(MIXED.read_text())["Records"]
    broken = next(i for i, r in enumerate(records) if "dynamodb" not in r)
    invoke.main([str(MIXED), "--quiet"])
    out = capsys.readouterr().out
    assert (
        f"- MalformedRecord (record {broken + 1} of {len(records)}, "
        f"eventID {records[broken]['eventID']!r}): record has no 'dynamodb' section"
    ) in out


def test_dead_letters_of_well_formed_records_carry_their_keys(capsys) -> None:
    path = EVENTS / "oversize.json"
    records = json.loads(path.read_text())["Records"]
    invoke.main([str(path), "--quiet", "--max-event-bytes", "262144"])
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("- EventTooLarge")]
    big = max(range(len(records)), key=lambda i: len(json.dumps(records[i])))
    keys = json.dumps(records[big]["dynamodb"]["Keys"], sort_keys=True)
    assert (
        f"(record {big + 1} of {len(records)}, eventID {records[big]['eventID']!r}, keys {keys})"
    ) in line
    assert line.endswith("(truncated to keys and metadata)")


def test_invoke_keeps_every_digit(capsys) -> None:
    invoke.main([str(EVENTS / "insert.json")])
    out = capsys.readouterr().out
    assert '"ratio": 0.12345678901234567890123456789012345678' in out
    assert '"ledgerId": 1.2345678901234567890123456789012345678E+37' in out


def test_summary_prints_one_line_per_entry(capsys) -> None:
    good = good_records(MIXED)
    assert invoke.main([str(MIXED), "--summary"]) == 0
    out = capsys.readouterr().out
    entry_lines = [line for line in out.splitlines() if line.startswith("- ") and "keys {" in line]
    assert len(entry_lines) == good
    assert entry_lines[0].startswith("- INSERT ") and "bytes of detail)" in entry_lines[0]
    assert '"Detail"' not in out
    assert len(out.splitlines()) < good + 15


def test_quiet_prints_no_entries_but_the_counts_dead_letters_and_response(capsys) -> None:
    good = good_records(MIXED)
    assert invoke.main([str(MIXED), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"== {good} PutEvents entries sent" in out
    assert '"Detail"' not in out and "bytes of detail" not in out
    assert "- MalformedRecord (" in out and '{"batchItemFailures": []}' in out
    assert len(out.splitlines()) < 12


def test_summary_and_quiet_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        invoke.main([str(MIXED), "--summary", "--quiet"])
    assert stopped.value.code == 2


RECORD = json.loads((EVENTS / "modify.json").read_text())["Records"][0]
ITEM = RECORD["dynamodb"]["NewImage"]


@pytest.mark.parametrize(
    ("content", "expected_hint"),
    [
        ({}, "found an empty object {}"),
        ([], "found a JSON array"),
        ([RECORD], 'wrap the records: {"Records": [...]}'),
        (RECORD, 'found a single stream record; wrap it: {"Records": [<the record>]}'),
        (ITEM, "found a DynamoDB item"),
        ({"Records": []}, "Records is empty"),
        ({"Records": {"a": 1}}, "Records is a dict"),
        ({"records": []}, "found an object with keys records but no Records"),
        ("Records", "found a JSON str"),
    ],
    ids=[
        "empty-object",
        "empty-array",
        "array-of-records",
        "bare-record",
        "item",
        "no-records",
        "records-not-a-list",
        "lowercase-key",
        "string",
    ],
)
def test_what_is_not_a_stream_event_is_refused_with_the_expected_shape(
    tmp_path, capsys, content, expected_hint
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(content))
    assert invoke.main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"invoke: {path}: expected a Lambda DynamoDB stream event, ")
    assert '{"Records": [<stream record>, ...]}' in line
    assert expected_hint in line


def test_a_missing_event_file_is_one_line_and_exit_2(capsys) -> None:
    assert invoke.main(["no-such-event.json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "invoke: cannot read no-such-event.json: No such file or directory\n"


def test_a_file_that_is_not_json_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    path = tmp_path / "event.json"
    path.write_text("Records: []")
    assert invoke.main([str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"invoke: {path}: Expecting value")
