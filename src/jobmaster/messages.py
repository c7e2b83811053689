"""Typed key/value bags carried by jobs: :class:`MessageData` and :class:`Metadata`.

A bag maps non-empty ``str`` keys to values of the supported types (see
:data:`SUPPORTED_TYPES_TEXT`) and serialises to one canonical JSON object.

Wire format. Each value is stored under its key in a JSON object:

* ``str``, ``bool``, ``None``, finite ``float`` and ``int`` (up to 2000 bits) are stored raw;
* JSON lists (and tuples, which become lists) are stored raw;
* every other value is a tagged object ``{"$t": "<type>", "v": ...}``. User dicts are
  always wrapped as ``{"$t": "json", "v": {...}}``, so a user dict that itself contains a
  ``"$t"`` key round-trips unchanged (tags are only read at the top level of each value).

Round trips are exact: ``bag == type(bag).decode(bag.encode())`` for every supported value,
including bytes (stay bytes), strings that look like dates or numbers (stay strings), aware
datetimes (same instant *and* same UTC offset), ``Decimal`` digits, NaN and infinities.
Two things are normalised when a value is *set* (so the in-memory bag already equals its
decoded copy): tuples inside JSON values become lists and ``bytearray`` becomes ``bytes``.
Time zones are kept as fixed UTC offsets (a ``ZoneInfo`` comes back as ``timezone(offset)``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import math
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Self, TypeAlias, TypeVar, cast

__all__ = ["SUPPORTED_TYPES_TEXT", "JsonValue", "MessageData", "Metadata", "UnresolvedEnum"]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A JSON-like value: primitives, lists and ``str``-keyed dicts of JSON-like values."""

SUPPORTED_TYPES_TEXT = (
    "str, int, float, bool, None, bytes, Decimal, datetime (aware), date, time, timedelta, "
    "UUID, Enum, and JSON lists/dicts"
)
"""Human-readable list of supported value types, used in error messages."""

_TAG = "$t"
_MAX_RAW_INT_BITS = 2000  # ~600 digits: far below the interpreter's int<->str digit limit.
_MAX_JSON_DEPTH = 200
_ECHO_LIMIT = 200
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_E = TypeVar("_E", bound=Enum)
_T = TypeVar("_T")
_Clock = TypeVar("_Clock", dt.datetime, dt.time)


@dataclass(frozen=True, slots=True)
class UnresolvedEnum:
    """An enum member decoded in a process where its enum class is not importable.

    Decoding looks the enum class up in already-imported modules only (it never imports).
    When the class is missing, the value is kept as this placeholder, which encodes back
    to exactly the same payload and which :meth:`MessageData.get_enum` converts to a member.
    """

    enum_type: str
    """The enum's class, as ``"module:QualName"``."""
    name: str
    """The member's name."""
    value: object
    """The member's value (decoded)."""


def _type_name(value: object) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _enum_path(cls: type[Enum]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# ---------------------------------------------------------------------------------------------
# Encoding: python value -> JSON-ready value
# ---------------------------------------------------------------------------------------------


class _Encoder:
    """Validates one value for ``key`` and returns ``(stored python value, JSON-ready value)``."""

    __slots__ = ("bag_name", "key")

    def __init__(self, bag_name: str, key: str) -> None:
        self.bag_name = bag_name
        self.key = key

    def unsupported(self, value: object) -> TypeError:
        return TypeError(
            f"{self.bag_name} value for {self.key!r} has unsupported type {_type_name(value)}; "
            f"supported: {SUPPORTED_TYPES_TEXT}"
        )

    def invalid(self, reason: str) -> ValueError:
        return ValueError(f"{self.bag_name} value for {self.key!r} {reason}")

    def encode(self, value: Any) -> tuple[object, object]:
        cls = type(value)
        if cls is str or cls is bool or value is None:
            return value, value
        if cls is int:
            return value, self._int(value)
        if cls is float:
            return value, self._float(value)
        if isinstance(value, Enum):
            return value, self._enum(value)
        handler = _ENCODERS.get(cls)
        if handler is None:
            raise self.unsupported(value)
        return handler(self, value)

    @staticmethod
    def _int(value: int) -> object:
        if value.bit_length() <= _MAX_RAW_INT_BITS:
            return value
        return {_TAG: "int", "v": format(value, "x")}  # hex has no digit limit

    @staticmethod
    def _float(value: float) -> object:
        if math.isfinite(value):
            return value
        return {_TAG: "float", "v": repr(value)}  # "nan", "inf", "-inf"

    def _enum(self, member: Enum) -> object:
        _, encoded_value = self.encode(member.value)
        return {_TAG: "enum", "e": _enum_path(type(member)), "n": member.name, "v": encoded_value}

    def _datetime(self, value: dt.datetime) -> tuple[object, object]:
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.invalid(
                "is a naive datetime; pass an aware datetime (e.g. datetime.now(timezone.utc))"
            )
        return value, {_TAG: "datetime", "v": value.isoformat()}

    def _unresolved_enum(self, value: UnresolvedEnum) -> tuple[object, object]:
        _, encoded_value = self.encode(value.value)
        encoded = {_TAG: "enum", "e": value.enum_type, "n": value.name, "v": encoded_value}
        return value, encoded

    def _json_container(self, value: object) -> tuple[object, object]:
        copied = self._json_copy(value, 0)
        if type(copied) is list:
            return copied, copied
        return copied, {_TAG: "json", "v": copied}

    def _json_copy(self, value: Any, depth: int) -> object:
        """Validated copy of a JSON-like value (tuples become lists)."""
        cls = type(value)
        if cls is str or cls is bool or value is None:
            return value
        if cls is int:
            if value.bit_length() > _MAX_RAW_INT_BITS:
                raise self.invalid(
                    f"contains an int above {_MAX_RAW_INT_BITS} bits in a JSON value"
                )
            return value
        if cls is float:
            if not math.isfinite(value):
                raise self.invalid(f"contains a non-finite float ({value!r}) in a JSON value")
            return value
        if depth >= _MAX_JSON_DEPTH:
            raise self.invalid(f"is nested deeper than {_MAX_JSON_DEPTH} levels")
        if cls is list or cls is tuple:
            return [self._json_copy(item, depth + 1) for item in value]
        if cls is dict:
            copied: dict[str, object] = {}
            for item_key, item in value.items():
                if type(item_key) is not str:
                    raise TypeError(
                        f"{self.bag_name} value for {self.key!r} has a JSON dict key of type "
                        f"{_type_name(item_key)}; JSON dict keys must be str"
                    )
                copied[item_key] = self._json_copy(item, depth + 1)
            return copied
        raise TypeError(
            f"{self.bag_name} value for {self.key!r} contains unsupported type "
            f"{_type_name(value)} in a JSON list/dict; JSON values may only hold "
            "str, int, float, bool, None, lists and dicts"
        )


def _tagged(
    tag: str, to_text: Callable[[Any], object]
) -> Callable[[_Encoder, Any], tuple[object, object]]:
    def encode(_encoder: _Encoder, value: Any) -> tuple[object, object]:
        return value, {_TAG: tag, "v": to_text(value)}

    return encode


def _bytes_encoder(_encoder: _Encoder, value: Any) -> tuple[object, object]:
    data = bytes(value)
    return data, {_TAG: "bytes", "v": base64.b64encode(data).decode("ascii")}


def _timedelta_parts(value: dt.timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


_ENCODERS: dict[type, Callable[[_Encoder, Any], tuple[object, object]]] = {
    bytes: _bytes_encoder,
    bytearray: _bytes_encoder,
    Decimal: _tagged("decimal", str),
    dt.datetime: _Encoder._datetime,
    dt.date: _tagged("date", dt.date.isoformat),
    dt.time: _tagged("time", dt.time.isoformat),
    dt.timedelta: _tagged("timedelta", _timedelta_parts),
    uuid.UUID: _tagged("uuid", str),
    list: _Encoder._json_container,
    tuple: _Encoder._json_container,
    dict: _Encoder._json_container,
    UnresolvedEnum: _Encoder._unresolved_enum,
}


# ---------------------------------------------------------------------------------------------
# Decoding: JSON-ready value -> python value
# ---------------------------------------------------------------------------------------------


def _resolve_enum(path: str) -> type[Enum] | None:
    """Find an enum class among already-imported modules (never imports anything)."""
    module_name, _, qualname = path.partition(":")
    obj: object = sys.modules.get(module_name)
    for part in qualname.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and issubclass(obj, Enum):
        return obj
    return None


def _decode_enum(tagged: dict[str, Any]) -> object:
    path, name, value = tagged["e"], tagged["n"], _decode_value(tagged["v"])
    if type(path) is not str or type(name) is not str:
        raise ValueError("enum tag needs str 'e' and 'n'")
    enum_type = _resolve_enum(path)
    if enum_type is not None:
        try:
            return enum_type(value)
        except (ValueError, TypeError):
            if name in enum_type.__members__:
                return enum_type.__members__[name]
    return UnresolvedEnum(path, name, value)


def _decode_float(text: str) -> float:
    value = float(text)
    if math.isfinite(value):
        raise ValueError("float tag is only used for nan/inf")
    return value


_SUBSECOND_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})")


def _with_exact_offset(value: _Clock, text: str) -> _Clock:
    """Restore an offset's microseconds, which ``fromisoformat`` drops before Python 3.12."""
    if len(text) < 16 or text[-7] != ".":
        return value
    match = _SUBSECOND_OFFSET.fullmatch(text, len(text) - 16)
    if match is None:
        return value
    sign, hours, minutes, seconds, micros = match.groups()
    offset = dt.timedelta(
        hours=int(hours), minutes=int(minutes), seconds=int(seconds), microseconds=int(micros)
    )
    return value.replace(tzinfo=dt.timezone(-offset if sign == "-" else offset))


def _decode_datetime(text: str) -> dt.datetime:
    value = _with_exact_offset(dt.datetime.fromisoformat(text), text)
    if value.utcoffset() is None:
        raise ValueError("datetime without a UTC offset")
    return value


def _decode_time(text: str) -> dt.time:
    return _with_exact_offset(dt.time.fromisoformat(text), text)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")  # canonical payloads never hold NaN/Infinity


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# One shared encoder: json.dumps() with options would build a new JSONEncoder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

_DECODERS: dict[str, Callable[[Any], object]] = {
    "json": lambda v: v,
    "int": lambda v: int(v, 16),
    "float": _decode_float,
    "bytes": lambda v: base64.b64decode(v.encode("ascii"), validate=True),
    "decimal": Decimal,
    "datetime": _decode_datetime,
    "date": dt.date.fromisoformat,
    "time": _decode_time,
    "timedelta": lambda v: dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "uuid": uuid.UUID,
}


def _decode_value(raw: Any) -> object:
    if type(raw) is not dict:
        return raw
    tag = raw.get(_TAG)
    if tag == "enum":
        return _decode_enum(raw)
    decoder = _DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        raise ValueError(f"unknown type tag {tag!r}")
    return decoder(raw["v"])


# ---------------------------------------------------------------------------------------------
# The bags
# ---------------------------------------------------------------------------------------------


class _TypedBag(Mapping[str, object]):
    """Shared implementation of :class:`MessageData` and :class:`Metadata`.

    A mutable mapping from non-empty ``str`` keys to supported values, written with
    :meth:`set` and read with the typed getters. Reading through the mapping protocol
    (``bag[key]``, :meth:`get`, :meth:`items`) returns the stored python values; treat
    returned lists/dicts as read-only (use :meth:`get_json` for a copy you may change).
    """

    __slots__ = ("_encoded", "_text", "_values")
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, data: Mapping[str, object] | None = None, /, **values: object) -> None:
        """Build a bag from an optional mapping and keyword values (keywords win).

        Raises:
            TypeError: a key is not a str, or a value has an unsupported type.
            ValueError: a key is empty, or a value is invalid (e.g. a naive datetime).
        """
        self._values: dict[str, object] = {}
        self._encoded: dict[str, object] = {}
        self._text: str | None = None
        if data:
            for key, value in data.items():
                self.set(key, value)
        for key, value in values.items():
            self.set(key, value)

    # -- building --------------------------------------------------------------------------

    def set(self, key: str, value: Any) -> Self:
        """Store ``value`` under ``key`` (replacing any previous value); returns ``self``.

        Raises:
            TypeError: ``key`` is not a str, or ``value`` has an unsupported type (the
                message names the key and the type).
            ValueError: ``key`` is empty, ``value`` is a naive datetime, or a JSON value holds
                a NaN/infinite float, an int above 2000 bits, or is nested too deeply.
        """
        if type(key) is not str:
            raise TypeError(f"{type(self).__name__} keys must be str, not {_type_name(key)}")
        if not key:
            raise ValueError(f"{type(self).__name__} keys must be non-empty")
        cls = type(value)
        if (
            cls is str
            or cls is bool
            or value is None
            or (cls is int and value.bit_length() <= _MAX_RAW_INT_BITS)
            or (cls is float and math.isfinite(value))
        ):
            stored = encoded = value  # fast path: JSON-native primitives are stored raw
        else:
            stored, encoded = _Encoder(type(self).__name__, key).encode(value)
        self._values[key] = stored
        self._encoded[key] = encoded
        self._text = None
        return self

    @classmethod
    def from_value(cls, value: Mapping[str, object] | None) -> Self:
        """Coerce ``None``, a mapping (e.g. a plain ``dict``) or a bag into this class.

        A bag that already is an instance of ``cls`` is returned as is (not copied); ``None``
        gives an empty bag; any other mapping is copied through :meth:`set`.

        Raises:
            TypeError: ``value`` is not ``None`` or a mapping, or holds unsupported values.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, _TypedBag):
            bag = cls()
            bag._values = dict(value._values)
            bag._encoded = dict(value._encoded)
            return bag
        if isinstance(value, Mapping):
            return cls(value)
        raise TypeError(
            f"{cls.__name__}.from_value expects None, a dict or a {cls.__name__}, "
            f"not {_type_name(value)}"
        )

    def copy(self) -> Self:
        """A shallow copy of this bag."""
        bag = type(self)()
        bag._values = dict(self._values)
        bag._encoded = dict(self._encoded)
        bag._text = self._text
        return bag

    def to_dict(self) -> dict[str, object]:
        """A shallow copy of the stored python values as a plain ``dict``."""
        return dict(self._values)

    # -- serialisation ---------------------------------------------------------------------

    def encode(self) -> str:
        """The canonical JSON text of this bag (compact separators, UTF-8 characters kept)."""
        text = self._text
        if text is None:
            text = self._text = _JSON_ENCODER.encode(self._encoded)
        return text

    def encoded_size(self) -> int:
        """Byte length of the UTF-8 encoding of :meth:`encode` (for ``max_message_bytes``)."""
        text = self.encode()
        return len(text) if text.isascii() else len(text.encode("utf-8"))

    @classmethod
    def decode(cls, text: str | bytes | bytearray) -> Self:
        """Rebuild a bag from :meth:`encode` output.

        Raises:
            ValueError: the text is not valid JSON (``"... payload is not valid JSON: ..."``,
                echoing at most 200 characters), not a JSON object, or holds a malformed
                tagged value.
        """
        bag = cls()
        if text == "{}" or text == b"{}":
            return bag
        try:
            loaded = _JSON_DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
        except (ValueError, TypeError) as error:
            echo = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
            if len(echo) > _ECHO_LIMIT:
                echo = echo[:_ECHO_LIMIT] + "..."
            raise ValueError(
                f"{cls.__name__} payload is not valid JSON: {echo!r} ({error})"
            ) from None
        if type(loaded) is not dict:
            raise ValueError(
                f"{cls.__name__} payload must be a JSON object, not {_type_name(loaded)}"
            )
        bag._encoded = loaded
        bag._values = {key: _decode_field(cls.__name__, key, raw) for key, raw in loaded.items()}
        return bag

    # -- mapping protocol ------------------------------------------------------------------

    def __getitem__(self, key: str) -> object:
        return self._lookup(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: str, default: object = None) -> object:
        """The stored python value for ``key``, or ``default`` when absent."""
        return self._values.get(key, default)

    def __eq__(self, other: object) -> bool:
        """Bags are equal when they are of the same class and encode the same values.

        Comparing encoded forms makes NaN equal to NaN and keeps ``Decimal('1.10')`` distinct
        from ``Decimal('1.1')``. A plain ``dict`` compares with the stored python values.
        """
        if isinstance(other, _TypedBag):
            return type(self) is type(other) and self._encoded == other._encoded
        if isinstance(other, dict):
            return self._values == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values!r})"

    # -- typed getters ---------------------------------------------------------------------

    def get_str(self, key: str) -> str:
        """The ``str`` under ``key`` (no conversion from other types).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a str.
        """
        value = self._lookup(key)
        if type(value) is str:
            return value
        raise self._mismatch(key, "str", value)

    def get_int(self, key: str) -> int:
        """The ``int`` under ``key``; a str of decimal digits (``"-42"``) is converted.

        ``bool`` is never accepted as an int, nor are floats or Decimals.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not an int or int text.
        """
        value = self._lookup(key)
        if type(value) is int:
            return value
        if type(value) is str and _INT_TEXT.fullmatch(value):
            try:
                return int(value)
            except ValueError:  # beyond the interpreter's digit limit
                pass
        raise self._mismatch(key, "int", value)

    def get_float(self, key: str) -> float:
        """The ``float`` under ``key``; an ``int`` (not ``bool``) is converted to float.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a float or a
                float-sized int.
        """
        value = self._lookup(key)
        if type(value) is float:
            return value
        if type(value) is int:
            try:
                return float(value)
            except OverflowError:
                pass
        raise self._mismatch(key, "float", value)

    def get_bool(self, key: str) -> bool:
        """The ``bool`` under ``key`` (no conversion from numbers or strings).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a bool.
        """
        value = self._lookup(key)
        if type(value) is bool:
            return value
        raise self._mismatch(key, "bool", value)

    def get_decimal(self, key: str) -> Decimal:
        """The ``Decimal`` under ``key``; an ``int`` or a numeric str (``"12.50"``) is converted.

        Floats are refused (their binary value has no single exact decimal reading).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a Decimal, int or
                numeric str.
        """
        value = self._lookup(key)
        if type(value) is Decimal:
            return value
        if type(value) is int:
            return Decimal(value)
        if type(value) is str:
            try:
                return Decimal(value)
            except (InvalidOperation, ValueError):
                pass
        raise self._mismatch(key, "Decimal", value)

    def get_datetime(self, key: str) -> dt.datetime:
        """The aware ``datetime`` under ``key`` (ISO strings are not parsed: they stay str).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a datetime.
        """
        value = self._lookup(key)
        if type(value) is dt.datetime:
            return value
        raise self._mismatch(key, "datetime", value)

    def get_date(self, key: str) -> dt.date:
        """The ``date`` under ``key`` (a ``datetime`` is refused, not truncated).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a date.
        """
        value = self._lookup(key)
        if type(value) is dt.date:
            return value
        raise self._mismatch(key, "date", value)

    def get_time(self, key: str) -> dt.time:
        """The ``time`` under ``key``.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a time.
        """
        value = self._lookup(key)
        if type(value) is dt.time:
            return value
        raise self._mismatch(key, "time", value)

    def get_timedelta(self, key: str) -> dt.timedelta:
        """The ``timedelta`` under ``key`` (numbers of seconds are not converted).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a timedelta.
        """
        value = self._lookup(key)
        if type(value) is dt.timedelta:
            return value
        raise self._mismatch(key, "timedelta", value)

    def get_uuid(self, key: str) -> uuid.UUID:
        """The ``UUID`` under ``key``; a str in any form ``uuid.UUID`` parses is converted.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a UUID or UUID text.
        """
        value = self._lookup(key)
        if type(value) is uuid.UUID:
            return value
        if type(value) is str:
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
        raise self._mismatch(key, "UUID", value)

    def get_bytes(self, key: str) -> bytes:
        """The ``bytes`` under ``key`` (base64 text is not decoded: it stays str).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not bytes.
        """
        value = self._lookup(key)
        if type(value) is bytes:
            return value
        raise self._mismatch(key, "bytes", value)

    def get_json(self, key: str) -> JsonValue:
        """A fresh deep copy of the JSON-like value under ``key``.

        Accepts lists, dicts and JSON primitives (str, int, float, bool, None).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is of a non-JSON type
                (bytes, Decimal, datetime, ...).
        """
        value = self._lookup(key)
        cls = type(value)
        if cls is list or cls is dict:
            return cast(JsonValue, copy.deepcopy(value))
        if cls in (str, int, float, bool) or value is None:
            return cast(JsonValue, value)
        raise self._mismatch(key, "JSON value", value)

    def get_enum(self, key: str, enum_type: type[_E]) -> _E:
        """The member of ``enum_type`` under ``key``.

        Accepts a member of ``enum_type``; an :class:`UnresolvedEnum` recorded for the same
        class (``module:QualName``); or a raw value (not bool) or exact member name.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not (convertible to) a
                member of ``enum_type``.
        """
        value = self._lookup(key)
        if isinstance(value, enum_type):
            return value
        member = _to_member(value, enum_type)
        if member is None:
            raise self._mismatch(key, _enum_path(enum_type).replace(":", "."), value)
        return member

    # -- try-getters -----------------------------------------------------------------------

    def try_get_str(self, key: str) -> str | None:
        """Like :meth:`get_str` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_str, key)

    def try_get_int(self, key: str) -> int | None:
        """Like :meth:`get_int` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_int, key)

    def try_get_float(self, key: str) -> float | None:
        """Like :meth:`get_float` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_float, key)

    def try_get_bool(self, key: str) -> bool | None:
        """Like :meth:`get_bool` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_bool, key)

    def try_get_decimal(self, key: str) -> Decimal | None:
        """Like :meth:`get_decimal` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_decimal, key)

    def try_get_datetime(self, key: str) -> dt.datetime | None:
        """Like :meth:`get_datetime` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_datetime, key)

    def try_get_date(self, key: str) -> dt.date | None:
        """Like :meth:`get_date` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_date, key)

    def try_get_time(self, key: str) -> dt.time | None:
        """Like :meth:`get_time` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_time, key)

    def try_get_timedelta(self, key: str) -> dt.timedelta | None:
        """Like :meth:`get_timedelta` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_timedelta, key)

    def try_get_uuid(self, key: str) -> uuid.UUID | None:
        """Like :meth:`get_uuid` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_uuid, key)

    def try_get_bytes(self, key: str) -> bytes | None:
        """Like :meth:`get_bytes` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_bytes, key)

    def try_get_json(self, key: str) -> JsonValue:
        """Like :meth:`get_json` but returns ``None`` when absent or not convertible."""
        return self._try(self.get_json, key)

    def try_get_enum(self, key: str, enum_type: type[_E]) -> _E | None:
        """Like :meth:`get_enum` but returns ``None`` when absent or not convertible."""
        try:
            return self.get_enum(key, enum_type)
        except (KeyError, TypeError):
            return None

    # -- helpers ---------------------------------------------------------------------------

    def _lookup(self, key: str) -> object:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(f"{type(self).__name__} has no key {key!r}") from None

    def _mismatch(self, key: str, expected: str, value: object) -> TypeError:
        return TypeError(
            f"{type(self).__name__} value for {key!r} is {_type_name(value)}, expected {expected}"
        )

    @staticmethod
    def _try(getter: Callable[[str], _T], key: str) -> _T | None:
        try:
            return getter(key)
        except (KeyError, TypeError):
            return None


def _decode_field(bag_name: str, key: str, raw: object) -> object:
    if type(raw) is not dict:  # fast path: raw primitives and JSON lists
        return raw
    try:
        return _decode_value(raw)
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        AttributeError,
        binascii.Error,
        InvalidOperation,
    ) as error:
        raise ValueError(f"{bag_name} payload has a malformed value for {key!r}: {error}") from None


def _to_member(value: object, enum_type: type[_E]) -> _E | None:
    if isinstance(value, UnresolvedEnum):
        if value.enum_type != _enum_path(enum_type):
            return None
        value = value.value
    elif isinstance(value, Enum) or type(value) is bool:
        return None
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        pass
    if type(value) is str and value in enum_type.__members__:
        return enum_type.__members__[value]
    return None


class MessageData(_TypedBag):
    """The job's input: a typed key/value bag that round-trips exactly through JSON.

    Build with ``MessageData(UserId="u1", Count=3)``, ``MessageData({"a": 1})`` or
    ``MessageData().set("k", v)``; read with the ``get_*`` / ``try_get_*`` getters.
    See the module documentation for supported types and the wire format.
    """

    __slots__ = ()


class Metadata(_TypedBag):
    """Descriptive key/value bag attached to jobs and schedules; same API as MessageData."""

    __slots__ = ()
