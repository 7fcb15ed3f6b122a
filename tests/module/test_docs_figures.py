"""Figures quoted in the docs that drift when the code or a rerun changes them.

The deployment zip's size has one truth, a build of lambda_src/ (byte-identical
on every build): every size the docs quote must be that build's, to the byte.
A demo transcript shown in the docs must agree with itself: the counts in its
summary add up, its rates are its records over its times, and the prose that
introduces it quotes the transcript's own figures. The tests read whatever
figures are quoted, so a rerun only has to update the docs consistently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.package import build

from .conftest import ROOT

pytestmark = pytest.mark.module

DOCS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
# "| deployment zip | 20,119 bytes |", "dist/fanout.zip: 20119 bytes", "a zip of 20,119 bytes"
ZIP_SIZE = re.compile(r"(?i)\bzip\b[^\n\d]{0,40}?(\d{1,3}(?:,\d{3})+|\d{4,})\s*bytes")


# A section that keeps earlier figures for comparison ("## Earlier figures, …") is history.
EARLIER = re.compile(r"(?ms)^## Earlier\b.*?(?=^## |\Z)")


def quoted_zip_sizes() -> list[tuple[str, int]]:
    found = []
    for path in DOCS:
        for number in ZIP_SIZE.findall(EARLIER.sub("", path.read_text("utf-8"))):
            found.append((path.name, int(number.replace(",", ""))))
    return found


def test_the_zip_pattern_reads_the_forms_the_docs_use() -> None:
    sample = "| deployment zip | 20,119 bytes | ≤ 50 KB |\ndist/fanout.zip: 20119 bytes\n"
    assert ZIP_SIZE.findall(sample) == ["20,119", "20119"]
    assert ZIP_SIZE.findall("the zip stays under 50 KB; 300 bytes") == []
    history = "## Earlier figures\n| deployment zip | 1,234 bytes |\n## Now\nzip: 5,678 bytes\n"
    assert ZIP_SIZE.findall(EARLIER.sub("", history)) == ["5,678"]


def test_every_quoted_zip_size_is_the_size_of_a_fresh_build(tmp_path: Path) -> None:
    size = build(ROOT / "lambda_src", tmp_path / "fanout.zip")
    quotes = quoted_zip_sizes()
    assert quotes, "no document quotes the deployment zip's size any more; drop this test"
    wrong = [(name, quoted) for name, quoted in quotes if quoted != size]
    assert not wrong, (
        f"a build of lambda_src/ is {size:,} bytes, the docs say {wrong}: "
        "rerun `make bench BENCH_ARGS='--write BENCHMARKS.md'` or correct the figure"
    )


@dataclass
class Transcript:
    """The figures of one `make demo` output shown in the docs."""

    where: str
    intro: str  # the prose just before the code block
    text: str

    def number(self, pattern: str) -> float | None:
        match = re.search(pattern, self.text, re.MULTILINE)
        return float(match.group(1).replace(",", "")) if match else None

    def row(self, label: str) -> int | None:
        value = self.number(rf"^\s+{re.escape(label)}\s+(\d+)\b")
        return None if value is None else int(value)


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """(line number, prose paragraph before it, content) of each fenced block."""
    blocks, lines, opened, body = [], text.split("\n"), None, []
    for number, line in enumerate(lines):
        if line.startswith("```"):
            if opened is None:
                opened, body = number, []
            else:
                before = "\n".join(lines[:opened]).rstrip().split("\n\n")[-1]
                blocks.append((opened + 1, before, "\n".join(body)))
                opened = None
        elif opened is not None:
            body.append(line)
    return blocks


def demo_transcripts() -> list[Transcript]:
    """Every code block that holds a demo's summary, with the prose before it."""
    return [
        Transcript(f"{path.name}:{line}", intro, body)
        for path in DOCS
        for line, intro, body in code_blocks(path.read_text("utf-8"))
        if "stream records read" in body
    ]


TRANSCRIPTS = demo_transcripts()


def test_the_docs_show_demo_transcripts() -> None:
    where = {t.where.split(":")[0] for t in TRANSCRIPTS}
    assert "local-demo.md" in where, where


def rate_matches(records: float, seconds: float, quoted: float) -> bool:
    """The quoted records/s is records over seconds, allowing for the rounding
    of the seconds to 0.1 (or 0.01) and of the rate to a whole number."""
    low, high = records / (seconds + 0.05), records / max(seconds - 0.05, 1e-9)
    return low - 0.5 <= quoted <= high + 0.5


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.where)
def test_a_demo_transcript_adds_up(transcript: Transcript) -> None:
    read = transcript.row("stream records read")
    published = transcript.row("published to the bus")
    parked = transcript.number(r"^\s+dead-letter queue\s+(\d+)\s+messages")
    assert None not in (read, published, parked), transcript.text
    assert transcript.row("unaccounted for") == 0
    assert published + parked == read, "published + dead-lettered must be every record read"
    reasons = [int(n) for n in re.findall(r"^\s+reason \w+\s+(\d+)$", transcript.text, re.M)]
    assert sum(reasons) == parked
    for consumer, count in re.findall(r"^\s+(\S+) <- \S+\s+(\d+)\s+events", transcript.text, re.M):
        assert int(count) <= published, consumer
    all_changes = transcript.number(r"^\s+\S+ <- \S*all-changes\s+(\d+)")
    assert all_changes in (None, published), "the every-change consumer gets every published event"

    end_to_end = transcript.number(r"end-to-end ([\d.]+)s = ")
    assert rate_matches(read, end_to_end, transcript.number(r"end-to-end [\d.]+s = ([\d,]+)"))
    handler_s = transcript.number(r"inside the handler ([\d.]+)s")
    assert rate_matches(
        read, handler_s, transcript.number(r"inside the handler [\d.]+s \(([\d,]+)")
    )
    invocations = transcript.number(r"(\d+) invocations of batch size")
    batch = transcript.number(r"invocations of batch size (\d+)")
    assert invocations == -(-read // batch), "invocations = records / batch size, rounded up"

    total = transcript.number(r"moto_server stopped; total ([\d.]+)s")
    last_stamp = re.findall(r"^\[\s*([\d.]+)s\]", transcript.text, re.M)[-1]
    assert total == float(last_stamp)


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.where)
def test_the_prose_before_a_transcript_quotes_its_figures(transcript: Transcript) -> None:
    """E.g. "(74 s in all: apply 41 s, ... 14 s end to end, destroy 15 s)"."""
    shown = {
        "in all": transcript.number(r"moto_server stopped; total ([\d.]+)s"),
        "apply": transcript.number(r"applied in ([\d.]+)s"),
        "destroy": transcript.number(r"destroyed in ([\d.]+)s"),
        "end to end": transcript.number(r"end-to-end ([\d.]+)s = "),
        "records/s": transcript.number(r"end-to-end [\d.]+s = ([\d,]+) records/s"),
        "changes": transcript.row("stream records read"),
    }
    quoted = {
        "in all": re.search(r"([\d.]+) s in all", transcript.intro),
        "apply": re.search(r"apply ([\d.]+) s", transcript.intro),
        "destroy": re.search(r"destroy ([\d.]+) s", transcript.intro),
        "end to end": re.search(r"([\d.]+) s end to end", transcript.intro),
        "records/s": re.search(r"([\d,]+) records/s", transcript.intro),
        "changes": re.search(r"([\d,]+) changes", transcript.intro),
    }
    checked = 0
    for what, match in quoted.items():
        if match is None:
            continue
        checked += 1
        value = float(match.group(1).replace(",", ""))
        assert shown[what] is not None, (
            f"the prose quotes {what} but the transcript does not show it"
        )
        assert abs(value - shown[what]) <= 0.5, (
            f"{what}: prose says {value}, transcript {shown[what]}"
        )
    assert checked >= 2, (
        f"no figures found in the prose before the transcript: {transcript.intro!r}"
    )


def table_after(text: str, header: str) -> str:
    start = text.index(header)
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else len(text)].strip()


def test_the_module_docs_show_the_cost_table_of_the_last_benchmark_run() -> None:
    header = "| item | records per invocation |"
    bench = table_after((ROOT / "BENCHMARKS.md").read_text("utf-8"), header)
    module = (ROOT / "docs" / "module.md").read_text("utf-8")
    shown = module[module.index("<!-- BEGIN cost -->") : module.index("<!-- END cost -->")]
    assert table_after(shown, header) == bench, (
        "docs/module.md's cost table is not BENCHMARKS.md's: "
        "rerun `make bench BENCH_ARGS='--write BENCHMARKS.md'`, which writes both"
    )
