"""The README's inputs/outputs tables match variables.tf and outputs.tf."""

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
    for name in ("variables.tf", "outputs.tf", "README.md"):
        if (ROOT / name).exists():
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
