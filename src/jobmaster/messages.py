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

import copy
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Self, TypeAlias, TypeVar, cast

from ._message_codec import (
    SUPPORTED_TYPES_TEXT,
    UnresolvedEnum,
    encode_payload,
    encode_value,
    enum_member,
    enum_path,
    type_name,
)
from ._message_decoding import decode_payload

__all__ = ["SUPPORTED_TYPES_TEXT", "JsonValue", "MessageData", "Metadata", "UnresolvedEnum"]

# Public here (documentation, pickles and reprs name this module), defined with the codec.
UnresolvedEnum.__module__ = __name__

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A JSON-like value: primitives, lists and ``str``-keyed dicts of JSON-like values."""

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_E = TypeVar("_E", bound=Enum)
_T = TypeVar("_T")


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
            raise TypeError(f"{type(self).__name__} keys must be str, not {type_name(key)}")
        if not key:
            raise ValueError(f"{type(self).__name__} keys must be non-empty")
        stored, encoded = encode_value(type(self).__name__, key, value)
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
            f"not {type_name(value)}"
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
            text = self._text = encode_payload(self._encoded)
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
        bag._encoded, bag._values = decode_payload(cls.__name__, text)
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
        return self._exact(key, str)

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
        return self._exact(key, bool)

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
        return self._exact(key, dt.datetime)

    def get_date(self, key: str) -> dt.date:
        """The ``date`` under ``key`` (a ``datetime`` is refused, not truncated).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a date.
        """
        return self._exact(key, dt.date)

    def get_time(self, key: str) -> dt.time:
        """The ``time`` under ``key``.

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a time.
        """
        return self._exact(key, dt.time)

    def get_timedelta(self, key: str) -> dt.timedelta:
        """The ``timedelta`` under ``key`` (numbers of seconds are not converted).

        Raises:
            KeyError: ``key`` is absent.  TypeError: the value is not a timedelta.
        """
        return self._exact(key, dt.timedelta)

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
        return self._exact(key, bytes)

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
        member = enum_member(value, enum_type)
        if member is None:
            raise self._mismatch(key, enum_path(enum_type).replace(":", "."), value)
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
            f"{type(self).__name__} value for {key!r} is {type_name(value)}, expected {expected}"
        )

    def _exact(self, key: str, expected: type[_T]) -> _T:
        """The value under ``key`` when its type is exactly ``expected`` (no subclasses)."""
        value = self._lookup(key)
        if type(value) is expected:
            return value
        raise self._mismatch(key, expected.__name__, value)

    @staticmethod
    def _try(getter: Callable[[str], _T], key: str) -> _T | None:
        try:
            return getter(key)
        except (KeyError, TypeError):
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
