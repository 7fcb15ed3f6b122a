"""The changedAttributes comparison as it was before raw values were compared first.

Kept only so that ``make bench`` measures the old and the new conversion of
realistic MODIFY records in the same run; the handler does not use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fanout.attribute_values import _value_of


def changed_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every value compared by value (Decimal numbers, sets, bytes), as before."""
    names = old.keys() | new.keys()
    return sorted(
        name
        for name in names
        if name not in old or name not in new or _value_of(old[name]) != _value_of(new[name])
    )
