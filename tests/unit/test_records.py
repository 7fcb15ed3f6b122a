"""Conversion: every DynamoDB type, every stream view, the three detail formats."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fanout.attribute_values import _value_of, unmarshal_item, unmarshal_old_image
from fanout.records import (
    MalformedRecord,
    changed_attributes,
    convert,
    decode,
    number,
    to_json,
    unmarshal,
)
from fanout.settings import Settings
from tests.support import streams

EVENTS = Path(__file__).resolve().parents[2] / "examples" / "events"
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = ["insert", "modify", "remove", "ttl-expiry", "keys-only", "mixed-batch"]
FORMATS = ["plain", "raw", "both"]


def settings(**overrides: Any) -> Settings:
    return Settings(event_bus_name="fanoutBus", dlq_url="https://q/1/dlq", **overrides)


def entries_of(sample: str, fmt: str) -> list[dict[str, Any]]:
    """The entries for a sample event, malformed records as their error."""
    out: list[dict[str, Any]] = []
    event = json.loads((EVENTS / f"{sample}.json").read_text())
    for index, raw in enumerate(event["Records"]):
        try:
            entry = convert(decode(index, raw), settings(detail_format=fmt))
        except MalformedRecord as exc:
            out.append({"malformed": str(exc)})
            continue
        api = entry.to_api("fanoutBus")
        api["Time"] = api["Time"].isoformat()
        api["_size"] = entry.size
        out.append(api)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_samples_match_golden_files(sample: str, fmt: str) -> None:
    actual = entries_of(sample, fmt)  # Detail kept as the exact text sent
    golden = GOLDEN / f"{sample}.{fmt}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(golden.read_text())


def test_every_type_is_plain_json() -> None:
    image = {
        "s": {"S": "café ☕"},
        "n": {"N": "42"},
        "neg": {"N": "-0.5"},
        "b": {"B": "AAEC"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.25"]},
        "bs": {"BS": ["AA==", "AQ=="]},
        "t": {"BOOL": True},
        "null": {"NULL": True},
        "l": {"L": [{"S": "x"}, {"N": "1"}, {"L": [{"NULL": True}]}]},
        "m": {"M": {"inner": {"M": {"deep": {"BOOL": False}}}}},
    }
    plain = {name: unmarshal(value) for name, value in image.items()}
    assert plain == {
        "s": "café ☕",
        "n": 42,
        "neg": -0.5,
        "b": "AAEC",
        "ss": ["a", "b"],
        "ns": [1, 2.25],
        "bs": ["AA==", "AQ=="],
        "t": True,
        "null": None,
        "l": ["x", 1, [None]],
        "m": {"inner": {"deep": False}},
    }


@pytest.mark.parametrize(
    "text",
    [
        "12345678901234567890123456789012345678",
        "-99999999999999999999999999999999999999",
        "0.12345678901234567890123456789012345678",
        "1234567890.1234567890123456789012345678",
        "1E+125",
        "-1E-130",
        "9.9999999999999999999999999999999999999E+125",
    ],
)
def test_numbers_keep_every_digit(text: str) -> None:
    written = to_json({"n": number(text)})
    digits = written[len('{"n":') : -1]
    assert Decimal(digits) == Decimal(text)
    assert json.loads(written, parse_float=Decimal, parse_int=Decimal)["n"] == Decimal(text)


def test_numbers_in_odd_spellings_become_json_numbers() -> None:
    assert json.loads(to_json([number("+1"), number(".5"), number("007")])) == [1, 0.5, 7]


def test_binary_from_boto3_is_base64() -> None:
    assert unmarshal({"B": b"\x00\x01\x02"}) == "AAEC"
    assert unmarshal({"BS": [b"\x00"]}) == ["AA=="]


@pytest.mark.parametrize(
    "value",
    [{"X": "1"}, {"N": "abc"}, {"N": 1}, {"S": 5}, {"BOOL": "yes"}, {"L": "x"}, {}, "plain"],
)
def test_undecodable_values_are_malformed(value: Any) -> None:
    with pytest.raises(MalformedRecord):
        unmarshal(value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("dynamodb"), "no 'dynamodb' section"),
        (lambda r: r.update(eventName="UPSERT"), "unknown eventName 'UPSERT'"),
        (lambda r: r["dynamodb"].pop("SequenceNumber"), "no dynamodb.SequenceNumber"),
        (lambda r: r["dynamodb"].pop("Keys"), "no dynamodb.Keys"),
        (lambda r: r.update(eventSourceARN="arn:aws:sqs:x"), "not a DynamoDB table ARN"),
        (lambda r: r["dynamodb"].update(ApproximateCreationDateTime="now"), "epoch seconds"),
    ],
)
def test_malformed_records_say_why(mutate: Any, message: str) -> None:
    raw = streams.insert(1)
    mutate(raw)
    with pytest.raises(MalformedRecord, match=message):
        decode(0, raw)


def test_entry_fields_follow_the_contract() -> None:
    raw = streams.record(
        7,
        "MODIFY",
        new={"pk": {"S": "order-7"}, "status": {"S": "PAID"}, "total": {"N": "10"}},
        old={"pk": {"S": "order-7"}, "status": {"S": "NEW"}, "note": {"S": "gone"}},
        created=1764115200.25,
    )
    entry = convert(decode(3, raw), settings())
    assert entry.source == "dynamodb.Orders"
    assert entry.detail_type == "MODIFY"
    assert entry.resources == (streams.TABLE_ARN,)
    assert entry.time.isoformat() == "2025-11-26T00:00:00.250000+00:00"
    detail = json.loads(entry.detail)
    assert detail["approximateCreationDateTime"] == "2025-11-26T00:00:00.250Z"
    assert detail["changedAttributes"] == ["note", "status", "total"]
    assert detail["keys"] == {"pk": "order-7"}
    assert detail["tableName"] == "Orders"
    assert detail["sequenceNumber"] == raw["dynamodb"]["SequenceNumber"]
    assert "userIdentity" not in detail


def test_event_source_setting_overrides_the_default() -> None:
    entry = convert(decode(0, streams.insert(1)), settings(event_source="com.example.orders"))
    assert entry.source == "com.example.orders"


def test_size_follows_the_aws_formula() -> None:
    raw = streams.insert(1, payload="é" * 10)
    entry = convert(decode(0, raw), settings())
    expected = (
        14
        + len(entry.source.encode())
        + len(entry.detail_type.encode())
        + len(entry.detail.encode("utf-8"))
        + len(streams.TABLE_ARN.encode())
    )
    assert entry.size == expected
    assert len(entry.detail.encode()) > len(entry.detail)  # UTF-8 counted, not characters


@pytest.mark.parametrize(
    ("view", "has_new", "has_old"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", True, False),
        ("OLD_IMAGE", False, True),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
def test_every_stream_view(view: str, has_new: bool, has_old: bool) -> None:
    image = {"pk": {"S": "order-1"}, "v": {"N": "1"}}
    raw = streams.record(
        1,
        "MODIFY",
        new=image if has_new else None,
        old=image if has_old else None,
        view_type=view,
    )
    detail = json.loads(convert(decode(0, raw), settings()).detail)
    assert ("newImage" in detail, "oldImage" in detail) == (has_new, has_old)
    assert ("changedAttributes" in detail) == (has_new and has_old)
    assert detail["streamViewType"] == view


def test_integers_beyond_int64_keep_their_digits_in_exponent_form() -> None:
    # PutEvents accepts JSON integers only from -2^63 to 2^63-1
    assert to_json([number("9223372036854775807"), number("-9223372036854775808")]) == (
        "[9223372036854775807,-9223372036854775808]"
    )
    assert to_json([number("9223372036854775808")]) == "[9.223372036854775808E+18]"
    assert to_json([number("1" + "0" * 125)]) == "[1E+125]"


@pytest.mark.parametrize("fmt", ["raw", "both"])
@pytest.mark.parametrize("sample", SAMPLES)
def test_raw_detail_carries_the_dynamodb_section_unchanged(sample: str, fmt: str) -> None:
    event = json.loads((EVENTS / f"{sample}.json").read_text())
    for index, raw in enumerate(event["Records"]):
        try:
            entry = convert(decode(index, raw), settings(detail_format=fmt))
        except MalformedRecord:
            continue
        section = json.loads(entry.detail)["dynamodb"]
        assert section == raw["dynamodb"]
        for field in ("SequenceNumber", "SizeBytes", "StreamViewType"):
            assert field in section


def test_raw_section_from_get_records_is_written_as_lambda_delivers_it() -> None:
    record = streams.record(1, keys={"pk": {"B": b"\x00\x01"}})
    record["dynamodb"]["ApproximateCreationDateTime"] = datetime(2025, 11, 26, tzinfo=UTC)
    entry = convert(decode(0, record), settings(detail_format="raw"))
    section = json.loads(entry.detail)["dynamodb"]
    assert section["Keys"] == {"pk": {"B": "AAE="}}
    assert section["ApproximateCreationDateTime"] == 1764115200
    assert section["SizeBytes"] == 100


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"N": "1"}, {"N": "1.0"}),
        ({"N": "100"}, {"N": "1E2"}),
        ({"N": "-0"}, {"N": "0"}),
        ({"SS": ["a", "b"]}, {"SS": ["b", "a"]}),
        ({"NS": ["1", "2.50"]}, {"NS": ["2.5", "1"]}),
        ({"B": "AAE="}, {"B": b"\x00\x01"}),
        ({"BS": ["AAE=", "Ag=="]}, {"BS": [b"\x02", b"\x00\x01"]}),
        ({"M": {"a": {"N": "1"}, "b": {"S": "x"}}}, {"M": {"b": {"S": "x"}, "a": {"N": "1.00"}}}),
        ({"L": [{"N": "5"}]}, {"L": [{"N": "5.0"}]}),
    ],
)
def test_changed_attributes_compare_values_not_spelling(old: Any, new: Any) -> None:
    assert changed_attributes({"k": {"S": "1"}, "v": old}, {"k": {"S": "1"}, "v": new}) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"N": "1"}, {"S": "1"}),
        ({"N": "1"}, {"N": "1.0000000000000000000000000000000000001"}),
        ({"SS": ["a"]}, {"SS": ["a", "b"]}),
        ({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]}),
        ({"B": "AAE="}, {"B": "AAI="}),
        ({"NULL": True}, {"BOOL": False}),
    ],
)
def test_changed_attributes_see_real_changes(old: Any, new: Any) -> None:
    assert changed_attributes({"v": old, "same": {"S": "x"}}, {"v": new, "same": {"S": "x"}}) == [
        "v"
    ]


_VALUES = st.sampled_from(
    [
        {"N": "1"},
        {"N": "1.0"},
        {"N": "2"},
        {"S": "1"},
        {"SS": ["a", "b"]},
        {"SS": ["b", "a"]},
        {"M": {"a": {"N": "1"}}},
        {"M": {"a": {"N": "1.00"}}},
        {"B": "AAE="},
        {"B": b"\x00\x01"},
        {"NULL": True},
        {"BOOL": False},
        {"bad": 1, "two": 2},
    ]
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), _VALUES),
    st.dictionaries(st.sampled_from("abcdef"), _VALUES),
)
def test_changed_attributes_match_a_comparison_of_every_value(old: dict, new: dict) -> None:
    """Comparing the typed values first is a shortcut only: the answer is that of by-value."""
    by_value = sorted(
        name
        for name in old.keys() | new.keys()
        if name not in old or name not in new or _value_of(old[name]) != _value_of(new[name])
    )
    assert changed_attributes(old, new) == by_value


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), _VALUES.filter(lambda v: "bad" not in v)),
    st.dictionaries(st.sampled_from("abcdef"), _VALUES.filter(lambda v: "bad" not in v)),
)
def test_the_old_image_reuses_unchanged_values_with_the_same_result(old: dict, new: dict) -> None:
    assert unmarshal_old_image(old, new, unmarshal_item(new)) == unmarshal_item(old)
