"""Generate the module's inputs/outputs Markdown tables from variables.tf and outputs.tf.

The tables live between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` in
docs/module.md, their one home (README.md links there). ``--write`` rewrites that
text, ``--check`` exits non-zero when it differs from what the .tf files say.

The HCL reader here is deliberately small: it finds top-level ``variable``/``output``
blocks and their top-level attributes, skipping strings, heredocs, comments and
nested blocks (``validation``), and keeps each attribute's source text as written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
DEFAULT_TARGETS = ("docs/module.md",)

BLOCK_START = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)
ATTRIBUTE_START = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)\s*(=|\{)")
HEREDOC_START = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


class HclError(ValueError):
    """The .tf text is not what this reader understands."""


@dataclass(frozen=True)
class Variable:
    """One input of the module, with its attributes' source text."""

    name: str
    description: str
    type: str
    default: str | None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Output:
    """One output of the module."""

    name: str
    description: str


def _skip_string(text: str, i: int) -> int:
    """Index just after the quoted string starting at text[i] (a '"')."""
    i += 1
    depth = 0  # inside ${ ... } interpolations, which may hold strings themselves
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if depth == 0 and c == '"':
            return i + 1
        if text.startswith("${", i) or text.startswith("%{", i):
            depth += 1
            i += 2
            continue
        if depth and c == "}":
            depth -= 1
        elif depth and c == '"':
            i = _skip_string(text, i)
            continue
        i += 1
    raise HclError("unterminated string")


def _skip_heredoc(text: str, i: int, match: re.Match[str]) -> int:
    """Index just after the heredoc whose opener `match` starts at text[i]."""
    marker = match.group(2)
    end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE)
    found = end.search(text, match.end())
    if not found:
        raise HclError(f"unterminated heredoc {marker}")
    return found.end()


def _skip_comment(text: str, i: int) -> int | None:
    """Index after a comment starting at text[i], or None when none starts there."""
    if text[i] == "#" or text.startswith("//", i):
        newline = text.find("\n", i)
        return len(text) if newline == -1 else newline
    if text.startswith("/*", i):
        close = text.find("*/", i + 2)
        if close == -1:
            raise HclError("unterminated comment")
        return close + 2
    return None


def _scan_to_depth_zero(text: str, i: int, stop_at_newline: bool) -> int:
    """Scan from text[i] until brackets close back to depth 0.

    With stop_at_newline, stop at the first newline at depth 0 (end of an
    attribute); otherwise stop after the bracket that closes the opening one.
    """
    depth = 0
    while i < len(text):
        c = text[i]
        after_comment = _skip_comment(text, i)
        if after_comment is not None:
            i = after_comment
            continue
        if c == '"':
            i = _skip_string(text, i)
            continue
        heredoc = HEREDOC_START.match(text, i)
        if heredoc:
            i = _skip_heredoc(text, i, heredoc)
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0 and not stop_at_newline:
                return i + 1
            if depth < 0:
                return i
        elif c == "\n" and depth == 0 and stop_at_newline:
            return i
        i += 1
    return i


def _attributes(body: str) -> dict[str, str]:
    """Top-level attributes of a block body, name -> source text of the value."""
    attributes: dict[str, str] = {}
    i = 0
    while i < len(body):
        if body[i].isspace():
            i += 1
            continue
        after_comment = _skip_comment(body, i)
        if after_comment is not None:
            i = after_comment
            continue
        match = ATTRIBUTE_START.match(body, i)
        if not match:
            raise HclError(f"cannot read block body near: {body[i : i + 40]!r}")
        if match.group(2) == "{":  # nested block such as validation { ... }
            i = _scan_to_depth_zero(body, match.end() - 1, stop_at_newline=False)
            continue
        start = match.end()
        end = _scan_to_depth_zero(body, start, stop_at_newline=True)
        attributes[match.group(1)] = body[start:end].strip()
        i = end
    return attributes


def blocks(text: str, kind: str) -> list[tuple[str, dict[str, str]]]:
    """(name, attributes) of every top-level `kind` block, in file order."""
    found = []
    for match in BLOCK_START.finditer(text):
        if match.group(1) != kind:
            continue
        open_brace = match.end() - 1
        close = _scan_to_depth_zero(text, open_brace, stop_at_newline=False)
        found.append((match.group(2), _attributes(text[open_brace + 1 : close - 1])))
    return found


def string_value(source: str) -> str:
    """The text of a quoted string or heredoc attribute, on one line."""
    heredoc = HEREDOC_START.match(source + "\n") if source.startswith("<<") else None
    if heredoc:
        lines = source.splitlines()[1:-1]
        return " ".join(line.strip() for line in lines if line.strip())
    if source.startswith('"') and source.endswith('"'):
        return json.loads(source)
    raise HclError(f"description must be a string, got {source[:40]!r}")


def read_variables(path: Path) -> list[Variable]:
    """The variables declared in path."""
    variables = []
    for name, attrs in blocks(path.read_text(encoding="utf-8"), "variable"):
        if "description" not in attrs:
            raise HclError(f"variable {name} has no description")
        variables.append(
            Variable(
                name=name,
                description=string_value(attrs["description"]),
                type=attrs.get("type", "any"),
                default=attrs.get("default"),
            )
        )
    return variables


def read_outputs(path: Path) -> list[Output]:
    """The outputs declared in path."""
    outputs = []
    for name, attrs in blocks(path.read_text(encoding="utf-8"), "output"):
        if "description" not in attrs:
            raise HclError(f"output {name} has no description")
        outputs.append(Output(name=name, description=string_value(attrs["description"])))
    return outputs


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, no HTML tags)."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _one_line(source: str) -> str:
    """Multi-line HCL on one line; attributes that were separated by newlines get commas."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        opener = joined.endswith(("{", "(", "[", ","))
        closer = line.startswith(("}", ")", "]"))
        joined += " " if opener or closer else ", "
        joined += line
    return re.sub(r"\s+", " ", joined)


def _code(source: str) -> str:
    """HCL source as inline code on one line."""
    one_line = _one_line(source)
    one_line = re.sub(r"([({\[]) ", r"\1", one_line)
    one_line = re.sub(r" ([)}\]])", r"\1", one_line)
    return "`" + one_line.replace("|", "\\|") + "`"


def render(variables: list[Variable], outputs: list[Output]) -> str:
    """The Markdown that goes between the markers."""
    lines = [
        "### Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    ordered = sorted(variables, key=lambda v: (not v.required, v.name))
    for v in ordered:
        default = "n/a" if v.default is None else _code(v.default)
        lines.append(
            f'| <a name="input_{v.name}"></a>`{v.name}` | {_cell(v.description)} '
            f"| {_code(v.type)} | {default} | {'yes' if v.required else 'no'} |"
        )
    lines += ["", "### Outputs", "", "| Name | Description |", "|------|-------------|"]
    for o in sorted(outputs, key=lambda o: o.name):
        lines.append(f'| <a name="output_{o.name}"></a>`{o.name}` | {_cell(o.description)} |')
    return "\n".join(lines) + "\n"


def replace_between_markers(document: str, tables: str) -> str:
    """document with the text between the markers replaced by tables."""
    start = document.find(BEGIN)
    end = document.find(END)
    if start == -1 or end == -1 or end < start:
        raise HclError(f"markers {BEGIN} ... {END} not found")
    return document[: start + len(BEGIN)] + "\n" + tables + document[end:]


def tables_for(root: Path) -> str:
    """The tables for the module at root."""
    return render(read_variables(root / "variables.tf"), read_outputs(root / "outputs.tf"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the tables in place")
    mode.add_argument("--check", action="store_true", help="fail when the tables are stale")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "files",
        nargs="*",
        help="documents holding the markers, relative to --root "
        f"(default: {', '.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument(
        "--examples",
        action="store_true",
        help="also examples/<name>/README.md, each with the tables of its own root",
    )
    args = parser.parse_args(argv)
    status = 0
    if args.examples and (args.write or args.check):
        flag = "--write" if args.write else "--check"
        for example in sorted((args.root / "examples").glob("*/variables.tf")):
            status = max(status, main([flag, "--root", str(example.parent), "README.md"]))

    try:
        tables = tables_for(args.root)
    except (HclError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not (args.write or args.check):
        sys.stdout.write(tables)
        return 0

    problems = 0
    for name in args.files or list(DEFAULT_TARGETS):
        path = args.root / name
        if not path.exists():
            print(f"{name}: missing", file=sys.stderr)
            problems += 1
            continue
        document = path.read_text(encoding="utf-8")
        try:
            wanted = replace_between_markers(document, tables)
        except HclError as error:
            print(f"{name}: {error}", file=sys.stderr)
            problems += 1
            continue
        if wanted == document:
            continue
        if args.write:
            path.write_text(wanted, encoding="utf-8")
            print(f"{name}: tables updated")
        else:
            print(f"{name}: tables are stale, run `make docs`", file=sys.stderr)
            problems += 1
    return max(status, 1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main())
