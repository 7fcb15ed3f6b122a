"""The MODIFY conversion steps as they were before raw values were compared first.

Kept only so that ``make bench`` measures the old and the new conversion of
realistic MODIFY records in the same run; the handler does not use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fanout.attribute_values import _value_of, unmarshal_item


def changed_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every value compared by value (Decimal numbers, sets, bytes), as before."""
    names = old.keys() | new.keys()
    return sorted(
        name
        for name in names
        if name not in old or name not in new or _value_of(old[name]) != _value_of(new[name])
    )


def unmarshal_old_image(old: Any, new: Any, new_plain: Mapping[str, Any] | None) -> dict[str, Any]:
    """The old image converted attribute by attribute, unchanged ones included, as before."""
    return unmarshal_item(old)
