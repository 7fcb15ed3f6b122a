"""The inputs/outputs tables in docs/module.md match variables.tf and outputs.tf."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tools import readme_tables

from .conftest import ROOT

pytestmark = pytest.mark.module

SAMPLE = textwrap.dedent(
    """
    # a comment with variable "fake" { braces }
    variable "plain" {
      description = "A \\"quoted\\" | piped <value>."
      type        = string
      default     = "x}{"
    }

    variable "required" {
      description = <<-EOT
        Spread over
        two lines.
      EOT
      type = map(object({
        a = optional(number, 1)
        b = string
      }))

      validation {
        condition     = alltrue([for k, v in var.required : v.b != "}"])
        error_message = "No closing brace in ${"b"}."
      }
    }
    """
)


def _copy_module(tmp_path: Path) -> Path:
    for name in ("variables.tf", "outputs.tf", "README.md", "docs/module.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_reader_handles_strings_heredocs_and_nested_blocks(tmp_path: Path) -> None:
    path = tmp_path / "variables.tf"
    path.write_text(SAMPLE, encoding="utf-8")
    variables = {v.name: v for v in readme_tables.read_variables(path)}
    assert set(variables) == {"plain", "required"}
    assert variables["plain"].description == 'A "quoted" | piped <value>.'
    assert variables["plain"].default == '"x}{"'
    assert variables["required"].description == "Spread over two lines."
    assert variables["required"].required
    assert variables["required"].type.startswith("map(object({")


def test_render_escapes_cells_and_joins_object_attributes(tmp_path: Path) -> None:
    path = tmp_path / "variables.tf"
    path.write_text(SAMPLE, encoding="utf-8")
    table = readme_tables.render(readme_tables.read_variables(path), [])
    assert 'A "quoted" \\| piped &lt;value&gt;.' in table
    assert "`map(object({a = optional(number, 1), b = string}))` | n/a | yes |" in table
    # required inputs come first
    assert table.index("input_required") < table.index("input_plain")


def test_missing_description_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "variables.tf"
    path.write_text('variable "x" {\n  type = string\n}\n', encoding="utf-8")
    with pytest.raises(readme_tables.HclError, match="no description"):
        readme_tables.read_variables(path)


def test_module_inputs_are_typed_and_described() -> None:
    variables = readme_tables.read_variables(ROOT / "variables.tf")
    outputs = readme_tables.read_outputs(ROOT / "outputs.tf")
    assert all(v.description for v in variables)
    assert all(o.description for o in outputs)
    untyped = [
        v.name for v in variables if v.type == "any" or "any" in v.type.replace("(", " ").split()
    ]
    assert not untyped, f"inputs typed as any: {untyped}"
    names = {v.name for v in variables}
    assert {
        "dynamodb_stream_arn",
        "event_bus_name",
        "create_event_bus",
        "max_attempts",
        "rules",
    } <= names
    assert {
        "function_name",
        "dlq_url",
        "event_bus_arn",
        "event_source_mapping_uuid",
        "rule_arns",
    } <= {o.name for o in outputs}


def test_readme_tables_are_current() -> None:
    assert readme_tables.main(["--check", "--root", str(ROOT)]) == 0, "run `make docs`"


def test_the_tables_live_in_docs_module_md_only() -> None:
    """One home for the generated tables: the README links to them instead."""
    assert readme_tables.DEFAULT_TARGETS == ("docs/module.md",)
    holders = [
        path.relative_to(ROOT).as_posix()
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        if readme_tables.BEGIN in path.read_text("utf-8")
    ]
    assert holders == ["docs/module.md"], holders
    assert "docs/module.md#inputs" in (ROOT / "README.md").read_text("utf-8")


def test_default_check_reads_docs_module_md(tmp_path: Path) -> None:
    root = _copy_module(tmp_path)
    assert readme_tables.main(["--check", "--root", str(root)]) == 0
    module_md = root / "docs" / "module.md"
    module_md.write_text(module_md.read_text("utf-8").replace("`dlq_url`", "`dlq_uri`"), "utf-8")
    assert readme_tables.main(["--check", "--root", str(root)]) == 1
    module_md.unlink()
    assert readme_tables.main(["--check", "--root", str(root)]) == 1


def test_check_fails_on_a_stale_table_and_write_fixes_it(tmp_path: Path) -> None:
    root = _copy_module(tmp_path)
    (root / "README.md").write_text(
        f"# title\n\n{readme_tables.BEGIN}\nold\n{readme_tables.END}\n\nafter\n", encoding="utf-8"
    )
    assert readme_tables.main(["--check", "--root", str(root), "README.md"]) == 1
    assert readme_tables.main(["--write", "--root", str(root), "README.md"]) == 0
    assert readme_tables.main(["--check", "--root", str(root), "README.md"]) == 0
    text = (root / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# title\n") and text.endswith("\n\nafter\n")
    assert "`dynamodb_stream_arn`" in text

    with (root / "variables.tf").open("a", encoding="utf-8") as handle:
        handle.write('\nvariable "added_later" {\n  description = "New."\n  type = bool\n}\n')
    assert readme_tables.main(["--check", "--root", str(root), "README.md"]) == 1


def test_check_fails_without_markers(tmp_path: Path) -> None:
    root = _copy_module(tmp_path)
    (root / "README.md").write_text("# no markers\n", encoding="utf-8")
    assert readme_tables.main(["--check", "--root", str(root), "README.md"]) == 1
