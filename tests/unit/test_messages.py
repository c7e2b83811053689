"""Tests for jobmaster.messages: MessageData / Metadata round trips, getters and errors."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import socket
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobmaster.messages import MessageData, Metadata, UnresolvedEnum

BAGS = [MessageData, Metadata]
Bag = type[MessageData] | type[Metadata]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    READ = 1
    WRITE = 2


class Pair(enum.Enum):
    A = (1, 2)
    B = (3, 4)


def same(a: Any, b: Any) -> bool:
    """Exact equality: same types, NaN == NaN, -0.0 != 0.0, same digits and UTC offsets."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return bool((math.isnan(a) and math.isnan(b)) or repr(a) == repr(b))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, dt.datetime | dt.time):
        return bool(a == b and a.utcoffset() == b.utcoffset() and a.isoformat() == b.isoformat())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    equal: bool = a == b
    return equal


def roundtrip(bag: MessageData | Metadata) -> MessageData | Metadata:
    return type(bag).decode(bag.encode())


def assert_roundtrips(value: Any, cls: Bag = MessageData) -> None:
    bag = cls().set("k", value)
    back = roundtrip(bag)
    assert same(back["k"], bag["k"]), (back["k"], bag["k"])
    assert back == bag
    assert back.encode() == bag.encode()


# --- round trips of every supported type ---------------------------------------------------

TZ_PLUS_0530 = dt.timezone(dt.timedelta(hours=5, minutes=30))
TZ_MINUS_0345 = dt.timezone(dt.timedelta(hours=-3, minutes=-45))

ROUNDTRIP_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**64) - 1,
    10**599,
    10**5000,  # beyond the default int<->str digit limit
    -(10**5000),
    0.0,
    -0.0,
    1.5,
    0.1,
    1e308,
    5e-324,
    float("inf"),
    float("-inf"),
    "",
    "plain",
    "2024-01-01T00:00:00Z",
    "2024-01-01",
    "12:30:00",
    "42",
    "3.14",
    "true",
    "null",
    "Zoë ☃ 日本語 🎉",
    '{"$t": "bytes", "v": ""}',
    "\x00\u2028\ud7ff",
    b"",
    bytes(range(256)),
    bytearray(b"abc"),
    Decimal("1.10"),
    Decimal("-0"),
    Decimal("0E-10"),
    Decimal("1E+30"),
    Decimal("123456789012345678901234567890.123456789"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2024, 3, 31, 2, 30, 15, 123456, tzinfo=TZ_PLUS_0530),
    dt.datetime(1, 1, 1, tzinfo=TZ_MINUS_0345),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(seconds=-30))),
    dt.date(2024, 2, 29),
    dt.date(1, 1, 1),
    dt.time(0, 0),
    dt.time(23, 59, 59, 999999),
    dt.time(8, 15, tzinfo=TZ_PLUS_0530),
    dt.time(0, 0, tzinfo=dt.timezone(dt.timedelta(microseconds=1))),
    dt.time(0, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(seconds=-30, microseconds=5))),
    dt.datetime(2020, 1, 1, 0, 0, 0, 7, tzinfo=dt.timezone(-dt.timedelta(microseconds=1))),
    dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=23, seconds=59, microseconds=9))),
    dt.timedelta(0),
    dt.timedelta(days=-1, microseconds=1),
    dt.timedelta(days=999999999, hours=23, minutes=59, seconds=59, microseconds=999999),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    uuid.uuid4(),
    Color.RED,
    Level.HIGH,
    Perm.READ | Perm.WRITE,
    Pair.B,
    [],
    [1, "a", None, True, 1.5, [2, [3]], {"x": 1}],
    {},
    {"$t": "bytes", "v": "AAAA"},
    {"$t": "json", "v": {"$t": "json"}},
    {"nested": {"$t": "datetime", "v": "2024-01-01T00:00:00+00:00"}, "ü": ["é"]},
]


def value_id(value: Any) -> str:
    if type(value) is int and value.bit_length() > 64:
        return f"int_{value.bit_length()}_bits"
    return repr(value)[:40]


@pytest.mark.parametrize("cls", BAGS)
@pytest.mark.parametrize("value", ROUNDTRIP_VALUES, ids=value_id)
def test_every_supported_value_roundtrips_exactly(cls: Bag, value: Any) -> None:
    assert_roundtrips(value, cls)


def test_nan_roundtrips() -> None:
    back = roundtrip(MessageData(x=float("nan"), d=Decimal("NaN"), s=Decimal("sNaN")))
    assert math.isnan(back.get_float("x"))
    assert back.get_decimal("d").is_qnan()
    assert back.get_decimal("s").is_snan()
    assert back == MessageData(x=float("nan"), d=Decimal("NaN"), s=Decimal("sNaN"))


def test_bytes_stay_bytes_and_iso_strings_stay_strings() -> None:
    data = bytes(range(256))
    back = roundtrip(MessageData(Blob=data, When="2024-01-01T00:00:00Z", Num="12"))
    assert back.get_bytes("Blob") == data
    assert type(back["When"]) is str and back.get_str("When") == "2024-01-01T00:00:00Z"
    assert back.try_get_datetime("When") is None
    assert back.get_str("Num") == "12"


def test_datetime_keeps_instant_and_offset() -> None:
    when = dt.datetime(2024, 6, 1, 12, 0, tzinfo=TZ_PLUS_0530)
    back = roundtrip(MessageData(When=when)).get_datetime("When")
    assert back == when
    assert back.utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert back.astimezone(dt.UTC) == dt.datetime(2024, 6, 1, 6, 30, tzinfo=dt.UTC)


def test_zoneinfo_datetime_comes_back_as_fixed_offset() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    when = dt.datetime(2024, 7, 1, 12, tzinfo=paris)
    back = roundtrip(MessageData(When=when)).get_datetime("When")
    assert back == when
    assert back.utcoffset() == dt.timedelta(hours=2)


def test_decimal_keeps_trailing_zero() -> None:
    back = roundtrip(MessageData(Price=Decimal("1.10")))
    assert str(back.get_decimal("Price")) == "1.10"
    assert MessageData(Price=Decimal("1.10")) != MessageData(Price=Decimal("1.1"))


def test_tuples_come_back_as_lists_and_are_normalised_on_set() -> None:
    bag = MessageData(T=(1, (2, 3)), D={"a": (4,)})
    assert bag["T"] == [1, [2, 3]]
    assert bag["D"] == {"a": [4]}
    assert roundtrip(bag) == bag


def test_stored_json_is_a_copy_of_the_callers_value() -> None:
    source: dict[str, Any] = {"a": [1]}
    bag = MessageData(D=source)
    source["a"].append(2)
    assert bag.get_json("D") == {"a": [1]}
    copy = bag.get_json("D")
    assert isinstance(copy, dict)
    copy["b"] = 1
    assert bag.get_json("D") == {"a": [1]}


def test_wire_format_tags_only_non_native_values() -> None:
    bag = MessageData(s="x", i=1, f=1.5, b=True, n=None, l=[1], d={"$t": 1}, raw=b"\x01")
    assert json.loads(bag.encode()) == {
        "s": "x",
        "i": 1,
        "f": 1.5,
        "b": True,
        "n": None,
        "l": [1],
        "d": {"$t": "json", "v": {"$t": 1}},
        "raw": {"$t": "bytes", "v": "AQ=="},
    }


def test_encoding_is_canonical_compact_and_keeps_unicode() -> None:
    bag = MessageData(Name="Zoë", Count=3)
    assert bag.encode() == '{"Name":"Zoë","Count":3}'
    assert bag.encoded_size() == len('{"Name":"Zoë","Count":3}'.encode())
    assert MessageData().encode() == "{}"
    assert MessageData().encoded_size() == 2


def test_encoded_size_follows_updates() -> None:
    bag = MessageData(a="x")
    before = bag.encoded_size()
    bag.set("a", "x" * 100)
    assert bag.encoded_size() == before + 99


def test_decode_accepts_bytes_and_non_canonical_text() -> None:
    assert MessageData.decode(b'{"a": 1}') == MessageData(a=1)
    assert MessageData.decode(' { "a" : [1, 2] } ') == MessageData(a=[1, 2])
    assert MessageData.decode("{}") == MessageData()
    assert MessageData.decode(b"{}") == MessageData()


# --- enums -------------------------------------------------------------------------------


def test_enum_roundtrip_and_get_enum() -> None:
    bag = roundtrip(MessageData(C=Color.GREEN, L=Level.LOW, P=Perm.READ | Perm.WRITE))
    assert bag["C"] is Color.GREEN
    assert bag.get_enum("C", Color) is Color.GREEN
    assert bag.get_enum("L", Level) is Level.LOW
    assert bag.get_enum("P", Perm) == Perm.READ | Perm.WRITE
    assert json.loads(MessageData(C=Color.RED).encode())["C"]["e"].endswith(":Color")


def test_enum_get_from_raw_value_or_name() -> None:
    bag = MessageData(v="red", n="GREEN", i=2, b=True)
    assert bag.get_enum("v", Color) is Color.RED
    assert bag.get_enum("n", Color) is Color.GREEN
    assert bag.get_enum("i", Level) is Level.HIGH
    with pytest.raises(TypeError, match="'b'"):
        bag.get_enum("b", Level)
    with pytest.raises(TypeError, match=r"value for 'v' is str, expected .*Level"):
        bag.get_enum("v", Level)
    assert bag.try_get_enum("v", Level) is None
    assert bag.try_get_enum("missing", Level) is None


def test_enum_of_another_class_is_refused() -> None:
    bag = MessageData(C=Color.RED)
    with pytest.raises(TypeError, match=r"'C' is .*Color, expected .*Level"):
        bag.get_enum("C", Level)


def test_unresolvable_enum_is_kept_and_reencodes_identically() -> None:
    class Local(enum.Enum):  # "<locals>" in its qualname: decoding cannot find it
        X = 1

    bag = MessageData(E=Local.X)
    back = roundtrip(bag)
    placeholder = back["E"]
    assert isinstance(placeholder, UnresolvedEnum)
    assert placeholder.name == "X" and placeholder.value == 1
    assert back.encode() == bag.encode()
    assert back.get_enum("E", Local) is Local.X
    assert back.try_get_enum("E", Color) is None


def test_enum_with_unencodable_value_is_rejected() -> None:
    class Weird(enum.Enum):
        S = socket.AF_INET.__class__  # a class object: not a supported value

    with pytest.raises(TypeError, match="'W'"):
        MessageData(W=Weird.S)


# --- building -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", BAGS)
def test_build_forms_are_equivalent(cls: Bag) -> None:
    a = cls(UserId="u1", Count=3)
    b = cls({"UserId": "u1", "Count": 3})
    c = cls().set("UserId", "u1").set("Count", 3)
    d = cls.from_value({"UserId": "u1", "Count": 3})
    assert a == b == c == d
    assert a == {"UserId": "u1", "Count": 3}


def test_keywords_override_mapping_and_allow_any_name() -> None:
    bag = MessageData({"a": 1, "data": 2}, a=3, data=4)
    assert bag.to_dict() == {"a": 3, "data": 4}


def test_set_returns_self_and_replaces() -> None:
    bag = MessageData()
    assert bag.set("k", 1) is bag
    bag.set("k", "two")
    assert bag.to_dict() == {"k": "two"}


def test_from_value() -> None:
    assert MessageData.from_value(None) == MessageData()
    bag = MessageData(a=1)
    assert MessageData.from_value(bag) is bag
    converted = Metadata.from_value(bag)
    assert type(converted) is Metadata and converted.to_dict() == {"a": 1}
    converted.set("b", 2)
    assert "b" not in bag
    with pytest.raises(TypeError, match="expects None, a dict or a MessageData, not list"):
        MessageData.from_value([1, 2])  # type: ignore[arg-type]


def test_copy_is_independent() -> None:
    bag = MessageData(a=1)
    copied = bag.copy()
    copied.set("b", 2)
    assert bag.to_dict() == {"a": 1}
    assert copied.to_dict() == {"a": 1, "b": 2}


@pytest.mark.parametrize("cls", BAGS)
def test_mapping_protocol(cls: Bag) -> None:
    bag = cls(a=1, b="x")
    assert bag["a"] == 1
    assert list(bag) == ["a", "b"]
    assert len(bag) == 2
    assert "a" in bag and "z" not in bag and 1 not in bag  # type: ignore[comparison-overlap]
    assert list(bag.keys()) == ["a", "b"]
    assert list(bag.items()) == [("a", 1), ("b", "x")]
    assert list(bag.values()) == [1, "x"]
    assert bag.get("a") == 1 and bag.get("z") is None and bag.get("z", 5) == 5
    assert repr(bag) == f"{cls.__name__}({{'a': 1, 'b': 'x'}})"
    with pytest.raises(KeyError, match=f"{cls.__name__} has no key 'z'"):
        bag["z"]
    with pytest.raises(TypeError):
        bag["a"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(bag)


def test_to_dict_is_a_shallow_copy() -> None:
    bag = MessageData(a=1)
    d = bag.to_dict()
    d["b"] = 2
    assert "b" not in bag


def test_messagedata_and_metadata_are_not_equal() -> None:
    assert MessageData(a=1) != Metadata(a=1)
    assert MessageData(a=1) != MessageData(a=2)
    assert MessageData(a=1) != "not a bag"


# --- errors on set ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", BAGS)
def test_naive_datetime_is_rejected_with_key(cls: Bag) -> None:
    expected = (
        f"{cls.__name__} value for 'When' is a naive datetime; pass an aware datetime "
        "(e.g. datetime.now(timezone.utc))"
    )
    with pytest.raises(ValueError) as info:
        cls().set("When", dt.datetime(2024, 1, 1))
    assert str(info.value) == expected


def test_unsupported_type_is_rejected_with_key_and_type() -> None:
    with socket.socket() as conn, pytest.raises(TypeError) as info:
        MessageData().set("Conn", conn)
    assert str(info.value) == (
        "MessageData value for 'Conn' has unsupported type socket.socket; supported: str, int, "
        "float, bool, None, bytes, Decimal, datetime (aware), date, time, timedelta, UUID, Enum, "
        "and JSON lists/dicts"
    )


@pytest.mark.parametrize(
    ("value", "error", "pattern"),
    [
        (object(), TypeError, "'k' has unsupported type object"),
        ({1, 2}, TypeError, "'k' has unsupported type set"),
        (1j, TypeError, "'k' has unsupported type complex"),
        ([b"x"], TypeError, "'k' contains unsupported type bytes in a JSON list/dict"),
        ({"a": Decimal(1)}, TypeError, "'k' contains unsupported type decimal.Decimal"),
        ({1: "a"}, TypeError, "'k' has a JSON dict key of type int"),
        ([float("nan")], ValueError, "'k' contains a non-finite float"),
        ({"a": float("inf")}, ValueError, "'k' contains a non-finite float"),
        ([10**1000], ValueError, "'k' contains an int above 2000 bits"),
        ([Color.RED], TypeError, "'k' contains unsupported type .*Color"),
    ],
)
def test_invalid_values_are_rejected(value: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        MessageData(k=value)


def test_deep_and_cyclic_json_is_rejected() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="'k' is nested deeper than"):
        MessageData(k=cyclic)


def test_subclasses_of_supported_types_are_rejected() -> None:
    class MyStr(str):
        pass

    with pytest.raises(TypeError, match=r"'k' has unsupported type .*MyStr"):
        MessageData(k=MyStr("x"))


@pytest.mark.parametrize(("key", "error"), [("", ValueError), (1, TypeError), (None, TypeError)])
def test_invalid_keys_are_rejected(key: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="keys must be"):
        MessageData().set(key, 1)
    with pytest.raises(error, match="keys must be"):
        MessageData({key: 1})


def test_failed_set_leaves_bag_unchanged() -> None:
    bag = MessageData(a=1)
    text = bag.encode()
    with pytest.raises(TypeError):
        bag.set("a", object())
    assert bag.encode() == text and bag["a"] == 1


# --- errors on decode ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "{", "not json", '{"a":}', "{'a': 1}", '{"a": NaN}'])
def test_invalid_json_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"^MessageData payload is not valid JSON: "):
        MessageData.decode(text)


def test_invalid_json_echo_is_truncated() -> None:
    text = "x" * 1000
    with pytest.raises(ValueError) as info:
        Metadata.decode(text)
    message = str(info.value)
    assert message.startswith("Metadata payload is not valid JSON: '" + "x" * 200 + "...'")
    assert "x" * 201 not in message


@pytest.mark.parametrize("text", ["[]", "1", '"s"', "null"])
def test_non_object_payload_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="payload must be a JSON object"):
        MessageData.decode(text)


@pytest.mark.parametrize(
    "raw",
    [
        {"$t": "nope", "v": 1},
        {"no": "tag"},
        {"$t": "bytes"},
        {"$t": "bytes", "v": "!!!"},
        {"$t": "bytes", "v": 5},
        {"$t": "datetime", "v": "2024-01-01T00:00:00"},
        {"$t": "datetime", "v": "garbage"},
        {"$t": "decimal", "v": "abc"},
        {"$t": "timedelta", "v": [1]},
        {"$t": "uuid", "v": "zz"},
        {"$t": "float", "v": "1.5"},
        {"$t": "int", "v": "xyz"},
        {"$t": "enum", "v": 1},
    ],
    ids=repr,
)
def test_malformed_tagged_values_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="MessageData payload has a malformed value for 'k'"):
        MessageData.decode(json.dumps({"k": raw}))


# --- typed getters ------------------------------------------------------------------------

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
ID = uuid.UUID("00000000-0000-0000-0000-00000000abcd")
SAMPLE = {
    "s": "text",
    "i": 7,
    "f": 2.5,
    "b": True,
    "d": Decimal("9.90"),
    "dt": NOW,
    "date": dt.date(2024, 5, 6),
    "time": dt.time(7, 8),
    "td": dt.timedelta(seconds=90),
    "u": ID,
    "bytes": b"\x00\xff",
    "json": {"a": [1, 2]},
    "list": [1, "x"],
    "none": None,
}

# getter name, key holding a value of its own type, a key holding a value it must refuse,
# the type name used in its TypeError message
GETTERS = [
    ("get_str", "s", "i", "str"),
    ("get_int", "i", "b", "int"),
    ("get_float", "f", "s", "float"),
    ("get_bool", "b", "i", "bool"),
    ("get_decimal", "d", "f", "Decimal"),
    ("get_datetime", "dt", "s", "datetime"),
    ("get_date", "date", "dt", "date"),
    ("get_time", "time", "s", "time"),
    ("get_timedelta", "td", "i", "timedelta"),
    ("get_uuid", "u", "i", "UUID"),
    ("get_bytes", "bytes", "s", "bytes"),
    ("get_json", "json", "bytes", "JSON value"),
]


@pytest.fixture(params=BAGS, ids=lambda c: c.__name__)
def sample(request: pytest.FixtureRequest) -> MessageData | Metadata:
    bag: MessageData | Metadata = request.param(SAMPLE)
    return roundtrip(bag)


@pytest.mark.parametrize(("name", "key", "wrong", "expected"), GETTERS)
def test_getter_returns_own_type(
    sample: MessageData | Metadata, name: str, key: str, wrong: str, expected: str
) -> None:
    value = getattr(sample, name)(key)
    assert same(value, SAMPLE[key])
    assert same(getattr(sample, "try_" + name)(key), SAMPLE[key])


@pytest.mark.parametrize(("name", "key", "wrong", "expected"), GETTERS)
def test_getter_missing_key(
    sample: MessageData | Metadata, name: str, key: str, wrong: str, expected: str
) -> None:
    with pytest.raises(KeyError) as info:
        getattr(sample, name)("UserId")
    assert info.value.args[0] == f"{type(sample).__name__} has no key 'UserId'"
    assert getattr(sample, "try_" + name)("UserId") is None


@pytest.mark.parametrize(("name", "key", "wrong", "expected"), GETTERS)
def test_getter_wrong_type(
    sample: MessageData | Metadata, name: str, key: str, wrong: str, expected: str
) -> None:
    actual = {"i": "int", "b": "bool", "s": "str", "f": "float", "dt": "datetime.datetime"}
    actual["bytes"] = "bytes"
    with pytest.raises(TypeError) as info:
        getattr(sample, name)(wrong)
    assert str(info.value) == (
        f"{type(sample).__name__} value for {wrong!r} is {actual[wrong]}, expected {expected}"
    )
    assert getattr(sample, "try_" + name)(wrong) is None


CONVERSIONS: list[tuple[str, Any, Any]] = [
    ("get_int", "-42", -42),
    ("get_int", "+7", 7),
    ("get_int", 10**5000, 10**5000),
    ("get_float", 3, 3.0),
    ("get_decimal", 5, Decimal(5)),
    ("get_decimal", "12.50", Decimal("12.50")),
    ("get_uuid", str(ID), ID),
    ("get_uuid", "{00000000-0000-0000-0000-00000000ABCD}", ID),
    ("get_json", "s", "s"),
    ("get_json", 1, 1),
    ("get_json", 1.5, 1.5),
    ("get_json", False, False),
    ("get_json", None, None),
    ("get_json", [1, {"a": None}], [1, {"a": None}]),
]


@pytest.mark.parametrize(("name", "stored", "expected"), CONVERSIONS, ids=value_id)
def test_light_conversions(name: str, stored: Any, expected: Any) -> None:
    bag = roundtrip(MessageData(k=stored))
    assert same(getattr(bag, name)("k"), expected)


REFUSALS: list[tuple[str, Any]] = [
    ("get_int", True),
    ("get_int", 1.0),
    ("get_int", Decimal(1)),
    ("get_int", "1.5"),
    ("get_int", " 1"),
    ("get_int", "١٢"),  # non-ASCII digits
    ("get_int", Level.LOW),
    ("get_float", True),
    ("get_float", Decimal("1.5")),
    ("get_float", "1.5"),
    ("get_float", 10**400),
    ("get_bool", 1),
    ("get_bool", "true"),
    ("get_str", Color.RED),
    ("get_str", b"x"),
    ("get_decimal", 1.5),
    ("get_decimal", True),
    ("get_decimal", "abc"),
    ("get_datetime", "2024-01-01T00:00:00Z"),
    ("get_datetime", dt.date(2024, 1, 1)),
    ("get_date", NOW),
    ("get_date", "2024-01-01"),
    ("get_time", "12:00"),
    ("get_timedelta", 5),
    ("get_uuid", "not-a-uuid"),
    ("get_bytes", "AAE="),
    ("get_json", Decimal(1)),
    ("get_json", NOW),
    ("get_json", Color.RED),
]


@pytest.mark.parametrize(("name", "stored"), REFUSALS, ids=value_id)
def test_unsafe_conversions_are_refused(name: str, stored: Any) -> None:
    bag = MessageData(k=stored)
    with pytest.raises(TypeError, match="MessageData value for 'k' is "):
        getattr(bag, name)("k")
    assert getattr(bag, "try_" + name)("k") is None


def test_get_returns_raw_value() -> None:
    bag = MessageData(d=Decimal("1.0"), b=b"x")
    assert bag.get("d") == Decimal("1.0")
    assert bag.get("b") == b"x"
    assert bag.get("zz", "dflt") == "dflt"


def test_typed_getter_results_are_typed() -> None:
    # static check for mypy: the getters return precise types
    bag = MessageData(UserId="u1", Count=3, C=Color.RED)
    user_id: str = bag.get_str("UserId")
    count: int = bag.get_int("Count")
    color: Color = bag.get_enum("C", Color)
    maybe: int | None = bag.try_get_int("Nope")
    assert (user_id, count, color, maybe) == ("u1", 3, Color.RED, None)


# --- property test ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5) | st.just("$t") | st.just("v"), children, max_size=4)
    ),
    max_leaves=20,
)
offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23)),
)
any_values = (
    json_values
    | st.integers()
    | st.integers(min_value=2**2000 - 10, max_value=2**2000 + 10)
    | st.floats()
    | st.binary()
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.datetimes(timezones=offsets)
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
    | st.times()
    | st.times(timezones=offsets)
    | st.timedeltas()
    | st.uuids()
    | st.sampled_from([*Color, *Level, *Pair, Perm.READ | Perm.WRITE])
    | st.text().filter(lambda s: s.strip() != "")  # ISO dates etc. appear as plain text
)


def normalise(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [normalise(item) for item in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(BAGS),
    values=st.dictionaries(st.text(min_size=1, max_size=8), any_values, max_size=6),
)
def test_property_any_values_roundtrip(cls: Bag, values: dict[str, Any]) -> None:
    bag = cls(values)
    text = bag.encode()
    back = cls.decode(text)
    assert back.encode() == text
    assert back == bag
    assert list(back) == list(values)
    for key, value in values.items():
        assert same(back[key], normalise(value)), (key, back[key], value)
    assert bag.encoded_size() == len(text.encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_property_any_string_stays_a_string(text: str) -> None:
    assert roundtrip(MessageData(s=text)).get_str("s") == text


# --- fast paths ---------------------------------------------------------------------------


def test_primitive_payload_is_not_tagged_and_shares_loaded_values() -> None:
    text = '{"UserId":"u1","Count":3,"Ratio":0.5,"Ok":true,"None":null}'
    bag = MessageData.decode(text)
    assert bag.encode() == text
    assert bag.to_dict() == json.loads(text)


def test_primitive_bag_encoding_is_cached_until_the_next_set() -> None:
    bag = MessageData(UserId="u1", Count=3, Ratio=0.5, Ok=True)
    text = bag.encode()
    assert bag.encode() is text
    assert MessageData.decode(text) == bag
    assert MessageData.decode("{}") == MessageData()
    bag.set("Count", 4)
    assert bag.encode() == '{"UserId":"u1","Count":4,"Ratio":0.5,"Ok":true}'
