"""make invoke: the entries are printed as sent, numbers digit for digit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun import invoke

EVENTS = Path(__file__).resolve().parents[2] / "examples" / "events"


def test_invoke_prints_entries_dead_letters_and_the_response(capsys, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    path = EVENTS / "mixed-batch.json"
    good = sum("dynamodb" in r for r in json.loads(path.read_text())["Records"])
    assert invoke.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert f"== {good} PutEvents entries sent in {-(-good // 10)} call(s)" in out
    assert "- MalformedRecord: record has no 'dynamodb' section" in out
    assert '{"batchItemFailures": []}' in out


def test_invoke_keeps_every_digit(capsys) -> None:
    invoke.main([str(EVENTS / "insert.json")])
    out = capsys.readouterr().out
    assert '"ratio": 0.12345678901234567890123456789012345678' in out
    assert '"ledgerId": 1.2345678901234567890123456789012345678E+37' in out


def test_a_missing_event_file_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as stopped:
        invoke.main(["no-such-event.json"])
    assert stopped.value.code == 2
