"""DynamoDB typed values (DynamoDB JSON) → plain JSON values, and comparing them. No I/O.

S → string; N → JSON number with every stored digit; B → base64; sets →
arrays; BOOL; NULL → null; L and M recursively. Values that are not
DynamoDB attribute values raise ``MalformedRecord``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
# Placeholder for a number that a float cannot carry exactly; the nonce makes a
# collision with item text impossible in practice.
_NONCE = secrets.token_hex(8)
_EXACT_PREFIX = f"\x00{_NONCE}:"
_EXACT_OPEN = '"\\u0000' + _NONCE + ":"
_EXACT_CLOSE = '\\u0000"'


# "For the JSON number (integer) data type, the constraints are: a minimum
# value of -9,223,372,036,854,775,808 and a maximum value of
# 9,223,372,036,854,775,807." (EventBridge API Reference, PutEvents)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class MalformedRecord(ValueError):
    """The stream record is not a DynamoDB stream record we can convert."""


def changed_attributes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level attribute names whose values differ, sorted, removed ones included.

    Values are compared, not their spelling: numbers by value ("1.0" equals
    "1"), sets without order, binary by its bytes. Most attributes of a
    MODIFY are unchanged and spelled the same in both images: equal typed
    values are equal values, so only the ones that differ are compared the
    slow way (Decimal, sets, base64).
    """
    get = old.get
    spelled_apart = [name for name, value in new.items() if get(name, _ABSENT) != value]
    changed = [
        name
        for name in spelled_apart
        if name not in old or _value_of(old[name]) != _value_of(new[name])
    ]
    changed += [name for name in old if name not in new]
    return sorted(changed)


_ABSENT = object()


def _value_of(value: Any) -> Any:
    """A DynamoDB typed value in a form that compares by value; the raw value if malformed."""
    try:
        (kind, inner), *rest = value.items()
        if rest:
            return value
        return kind, _COMPARABLE[kind](inner)
    except Exception:  # compared as given: a malformed value fails conversion anyway
        return value


def _number_value(text: Any) -> Any:
    number = Decimal(text)
    return number if number.is_finite() else text


def _bytes_value(inner: Any) -> bytes:
    if isinstance(inner, bytes | bytearray):
        return bytes(inner)
    return base64.b64decode(inner, validate=True)


_COMPARABLE: dict[str, Any] = {
    "S": lambda inner: inner,
    "N": _number_value,
    "B": _bytes_value,
    "BOOL": lambda inner: inner,
    "NULL": lambda inner: None,
    "L": lambda inner: [_value_of(v) for v in inner],
    "M": lambda inner: {k: _value_of(v) for k, v in inner.items()},
    "SS": frozenset,
    "NS": lambda inner: frozenset(_number_value(v) for v in inner),
    "BS": lambda inner: frozenset(_bytes_value(v) for v in inner),
}


def unmarshal_item(item: Any) -> dict[str, Any]:
    """A DynamoDB JSON item (attribute name → typed value) as plain JSON values."""
    if type(item) is not dict and not isinstance(item, Mapping):
        raise MalformedRecord(f"image is a {type(item).__name__}, not a map")
    return {name: unmarshal(value) for name, value in item.items()}


def unmarshal_old_image(old: Any, new: Any, new_plain: Mapping[str, Any] | None) -> dict[str, Any]:
    """The old image as plain JSON, reusing the new image's value where an attribute is unchanged.

    An attribute spelled the same in both images converts to the same value,
    so it is converted once; the output is what unmarshal_item(old) gives.
    """
    if new_plain is None or type(old) is not dict or not isinstance(new, Mapping):
        return unmarshal_item(old)
    get = new.get
    return {
        name: new_plain[name] if get(name, _ABSENT) == value else unmarshal(value)
        for name, value in old.items()
    }


def unmarshal(value: Any) -> Any:
    """One DynamoDB typed value (e.g. {"N": "1"}) as a plain JSON value.

    The common shapes (S, N, M, L, BOOL as Lambda delivers them) take a
    fast path; everything else, errors included, goes through the checked one.
    """
    if type(value) is dict and len(value) == 1:
        for kind, inner in value.items():
            if kind == "S":
                if type(inner) is str:
                    return inner
            elif kind == "N":
                fast = _number_fast(inner)
                if fast is not _SLOW:
                    return fast
            elif kind == "M":
                if type(inner) is dict:
                    return {name: unmarshal(v) for name, v in inner.items()}
            elif kind == "L":
                if type(inner) is list:
                    return [unmarshal(v) for v in inner]
            elif kind == "BOOL" and type(inner) is bool:
                return inner
    return _unmarshal_checked(value)


def _unmarshal_checked(value: Any) -> Any:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise MalformedRecord(f"not a DynamoDB attribute value: {short_repr(value)}")
    (kind, inner), *_ = value.items()
    try:
        return _UNMARSHAL[kind](inner)
    except KeyError:
        raise MalformedRecord(f"unknown DynamoDB type {kind!r}") from None
    except (TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, MalformedRecord):
            raise
        raise MalformedRecord(f"bad {kind} value {short_repr(inner)}") from None


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _string(inner: Any) -> str:
    if not isinstance(inner, str):
        raise TypeError
    return inner


def number(text: Any) -> int | float | str:
    """A DynamoDB number with every stored digit kept.

    Integers in the int64 range become Python ints, and floats are used only
    when they carry the exact value; anything else (e.g. 38 significant
    digits) becomes a placeholder that ``to_json`` writes back as the digits.
    Plain integers of up to 18 digits and decimals a float writes back
    unchanged skip the regex and Decimal.
    """
    fast = _number_fast(text)
    return _number_checked(text) if fast is _SLOW else fast


_SLOW = object()  # _number_fast's answer when the checked path must decide


def _number_fast(text: Any) -> Any:
    if type(text) is str and text.isascii():
        digits = text[1:] if text[:1] == "-" else text
        if digits.isdigit() and len(digits) <= 18 and (digits[0] != "0" or len(digits) == 1):
            return int(text)
        try:
            as_float = float(text)
        except ValueError:
            return _SLOW
        if repr(as_float) == text and as_float - as_float == 0:  # exact and finite
            return as_float
    return _SLOW


def _number_checked(text: Any) -> int | float | str:
    if not isinstance(text, str):
        raise TypeError
    if not _JSON_NUMBER.fullmatch(text):
        try:
            text = _decimal_text(Decimal(text))
        except InvalidOperation:
            raise ValueError(text) from None
    if "." not in text and "e" not in text and "E" not in text:
        value = int(text)
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        # PutEvents takes JSON integers only in the int64 range: keep the
        # digits, in exponent notation (e.g. 1.2345…E+37).
        mantissa, exponent = format(Decimal(text), "E").split("E")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{_EXACT_PREFIX}{mantissa}E{exponent}\x00"
    as_float = float(text)
    if Decimal(repr(as_float)) == Decimal(text):
        return as_float
    return _EXACT_PREFIX + text + "\x00"


def _decimal_text(value: Decimal) -> str:
    """A JSON-number spelling of a Decimal (for inputs like '+1' or '.5')."""
    if not value.is_finite():
        raise InvalidOperation
    text = format(value, "f") if abs(value.adjusted()) < 40 else format(value, "E")
    return text if _JSON_NUMBER.fullmatch(text) else format(value, "E")


def _binary(inner: Any) -> str:
    if isinstance(inner, bytes | bytearray):
        return base64.b64encode(inner).decode("ascii")
    if not isinstance(inner, str):
        raise TypeError
    return inner  # Lambda already delivers binary as base64 text


def _bool(inner: Any) -> bool:
    if not isinstance(inner, bool):
        raise TypeError
    return inner


def _list(inner: Any) -> list[Any]:
    if not isinstance(inner, list):
        raise TypeError
    return [unmarshal(v) for v in inner]


def _set(convert_one: Any) -> Any:
    def convert_set(inner: Any) -> list[Any]:
        if not isinstance(inner, list | tuple | set | frozenset):
            raise TypeError
        return [convert_one(v) for v in inner]

    return convert_set


_UNMARSHAL: dict[str, Any] = {
    "S": _string,
    "N": number,
    "B": _binary,
    "BOOL": _bool,
    "NULL": lambda inner: None,
    "L": _list,
    "M": unmarshal_item,
    "SS": _set(_string),
    "NS": _set(number),
    "BS": _set(_binary),
}


def to_json(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is, exact numbers restored from placeholders."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if _EXACT_OPEN not in text:
        return text
    # Each placeholder is '"\\u0000<nonce>:<digits>\\u0000"'; keep the digits only.
    first, *rest = text.split(_EXACT_OPEN)
    parts = [first]
    for piece in rest:
        digits, _, after = piece.partition(_EXACT_CLOSE)
        parts += (digits, after)
    return "".join(parts)
