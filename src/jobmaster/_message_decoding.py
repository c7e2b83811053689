"""Decoding side of the message value codec: JSON text -> python values.

The inverse of :mod:`jobmaster._message_codec`: tagged objects are turned back into their
python values, and enum members are looked up among already-imported modules (falling back
to :class:`~jobmaster._message_codec.UnresolvedEnum`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from ._message_codec import TAG, UnresolvedEnum, type_name

__all__ = ["decode_payload"]

_ECHO_LIMIT = 200
_Clock = TypeVar("_Clock", dt.datetime, dt.time)


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
    tag = raw.get(TAG)
    if tag == "enum":
        return _decode_enum(raw)
    decoder = _DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        raise ValueError(f"unknown type tag {tag!r}")
    return decoder(raw["v"])


def decode_payload(
    bag_name: str, text: str | bytes | bytearray
) -> tuple[dict[str, Any], dict[str, object]]:
    """Parse a bag's JSON text into ``(JSON-ready values, python values)``.

    Raises:
        ValueError: the text is not valid JSON (echoing at most 200 characters), not a
            JSON object, or holds a malformed tagged value.
    """
    try:
        loaded = _JSON_DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
    except (ValueError, TypeError) as error:
        echo = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
        if len(echo) > _ECHO_LIMIT:
            echo = echo[:_ECHO_LIMIT] + "..."
        raise ValueError(f"{bag_name} payload is not valid JSON: {echo!r} ({error})") from None
    if type(loaded) is not dict:
        raise ValueError(f"{bag_name} payload must be a JSON object, not {type_name(loaded)}")
    return loaded, {key: _decode_field(bag_name, key, raw) for key, raw in loaded.items()}


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
