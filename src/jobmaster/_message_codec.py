"""Value codec behind :mod:`jobmaster.messages`: the tagging scheme and the encoders.

Each bag value is stored in one JSON object under its key. JSON-native values (``str``,
``bool``, ``None``, finite ``float``, ``int`` up to 2000 bits, JSON lists) are stored raw;
every other value is a tagged object ``{"$t": "<type>", "v": ...}`` (see the
:mod:`jobmaster.messages` documentation for the full wire format). Decoding lives in
:mod:`jobmaster._message_decoding`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

__all__ = [
    "MAX_RAW_INT_BITS",
    "SUPPORTED_TYPES_TEXT",
    "TAG",
    "UnresolvedEnum",
    "encode_payload",
    "encode_value",
    "enum_member",
    "enum_path",
    "type_name",
]

SUPPORTED_TYPES_TEXT = (
    "str, int, float, bool, None, bytes, Decimal, datetime (aware), date, time, timedelta, "
    "UUID, Enum, and JSON lists/dicts"
)
"""Human-readable list of supported value types, used in error messages."""

TAG = "$t"
MAX_RAW_INT_BITS = 2000  # ~600 digits: far below the interpreter's int<->str digit limit.
_MAX_JSON_DEPTH = 200
_E = TypeVar("_E", bound=Enum)


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


def type_name(value: object) -> str:
    """The name of ``value``'s type for error messages (``int``, ``decimal.Decimal``)."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def enum_path(cls: type[Enum]) -> str:
    """The ``"module:QualName"`` path recorded for an enum class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def enum_member(value: object, enum_type: type[_E]) -> _E | None:
    """Convert ``value`` to a member of ``enum_type``, or ``None`` when it is not one.

    Accepts an :class:`UnresolvedEnum` recorded for ``enum_type``, a raw member value (not
    bool) or an exact member name; members of other enum classes are refused.
    """
    if isinstance(value, UnresolvedEnum):
        if value.enum_type != enum_path(enum_type):
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
            f"{self.bag_name} value for {self.key!r} has unsupported type {type_name(value)}; "
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
        if value.bit_length() <= MAX_RAW_INT_BITS:
            return value
        return {TAG: "int", "v": format(value, "x")}  # hex has no digit limit

    @staticmethod
    def _float(value: float) -> object:
        if math.isfinite(value):
            return value
        return {TAG: "float", "v": repr(value)}  # "nan", "inf", "-inf"

    def _enum(self, member: Enum) -> object:
        _, encoded_value = self.encode(member.value)
        return {TAG: "enum", "e": enum_path(type(member)), "n": member.name, "v": encoded_value}

    def _datetime(self, value: dt.datetime) -> tuple[object, object]:
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.invalid(
                "is a naive datetime; pass an aware datetime (e.g. datetime.now(timezone.utc))"
            )
        return value, {TAG: "datetime", "v": value.isoformat()}

    def _unresolved_enum(self, value: UnresolvedEnum) -> tuple[object, object]:
        _, encoded_value = self.encode(value.value)
        encoded = {TAG: "enum", "e": value.enum_type, "n": value.name, "v": encoded_value}
        return value, encoded

    def _json_container(self, value: object) -> tuple[object, object]:
        copied = self._json_copy(value, 0)
        if type(copied) is list:
            return copied, copied
        return copied, {TAG: "json", "v": copied}

    def _json_copy(self, value: Any, depth: int) -> object:
        """Validated copy of a JSON-like value (tuples become lists)."""
        cls = type(value)
        if cls is str or cls is bool or value is None:
            return value
        if cls is int:
            if value.bit_length() > MAX_RAW_INT_BITS:
                raise self.invalid(f"contains an int above {MAX_RAW_INT_BITS} bits in a JSON value")
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
                        f"{type_name(item_key)}; JSON dict keys must be str"
                    )
                copied[item_key] = self._json_copy(item, depth + 1)
            return copied
        raise TypeError(
            f"{self.bag_name} value for {self.key!r} contains unsupported type "
            f"{type_name(value)} in a JSON list/dict; JSON values may only hold "
            "str, int, float, bool, None, lists and dicts"
        )


def _tagged(
    tag: str, to_text: Callable[[Any], object]
) -> Callable[[_Encoder, Any], tuple[object, object]]:
    def encode(_encoder: _Encoder, value: Any) -> tuple[object, object]:
        return value, {TAG: tag, "v": to_text(value)}

    return encode


def _bytes_encoder(_encoder: _Encoder, value: Any) -> tuple[object, object]:
    data = bytes(value)
    return data, {TAG: "bytes", "v": base64.b64encode(data).decode("ascii")}


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


# One shared encoder: json.dumps() with options would build a new JSONEncoder on every call.
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_value(bag_name: str, key: str, value: Any) -> tuple[object, object]:
    """Validate ``value`` for ``key``; return ``(stored python value, JSON-ready value)``.

    Raises:
        TypeError: ``value`` has an unsupported type (the message names key and type).
        ValueError: ``value`` is invalid (naive datetime, bad JSON content, ...).
    """
    cls = type(value)
    if (
        cls is str
        or cls is bool
        or value is None
        or (cls is int and value.bit_length() <= MAX_RAW_INT_BITS)
        or (cls is float and math.isfinite(value))
    ):
        return value, value  # fast path: JSON-native primitives are stored raw
    return _Encoder(bag_name, key).encode(value)


def encode_payload(encoded: dict[str, object]) -> str:
    """The canonical JSON text of a bag's JSON-ready values."""
    return _JSON_ENCODER.encode(encoded)
