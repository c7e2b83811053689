"""Parsing of one value: a time, a date, a weekday, a month, a day or a combination.

Examples: ``10:30am``, ``fri``, ``1st JAN 14:00``, ``2023-01-23 14:00``,
``Monday 10:00``, ``day 10``, ``LastDay - 1``, ``2ndFriday``, ``ClosestWeekdayTo 15th``.
"""

from __future__ import annotations

import calendar
import re

from ._cursor import Cursor
from ._model import DaySpec, Value
from ._tokens import Token
from ._vocabulary import (
    ANCHOR_KEYWORDS,
    MONTHS,
    NAMES_HELP,
    RULE_KEYWORDS,
    WEEKDAYS,
    nth_weekday_word,
    unit_of,
)

__all__ = ["ends_value", "parse_time", "parse_value"]

_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?m\.?)?")
_SPECIAL_DAYS = {
    "lastday": "last",
    "lastdayofmonth": "last",
    "lastdayofthemonth": "last",
    "lastofthemonth": "last",
    "firstday": "first",
    "firstdayofmonth": "first",
    "firstdayofthemonth": "first",
    "firstofthemonth": "first",
    "firstweekday": "first_weekday",
    "lastweekday": "last_weekday",
}
_UNIT_LIMITS = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "day": (1, 31),
    "month": (1, 12),
    "year": (1, 9998),
}


def ends_value(token: Token, in_list: bool, stop_words: frozenset[str]) -> bool:
    """Whether ``token`` closes the value being parsed."""
    if token.kind == "]" or (in_list and token.kind == ","):
        return True
    words = RULE_KEYWORDS | ANCHOR_KEYWORDS | stop_words
    return token.kind == "word" and token.value in words


def _in_range(cursor: Cursor, what: str, number: int, low: int, high: int, at: Token) -> int:
    if not low <= number <= high:
        cursor.fail(f"{what} {number} is out of range {low}-{high}", at)
    return number


def parse_time(cursor: Cursor, token: Token) -> tuple[int, int, int]:
    """``2pm``, ``2:00pm``, ``14:00``, ``14:00:10`` -> ``(hour, minute, second)``."""
    match = _TIME.fullmatch(token.text.lower())
    if not match:
        cursor.fail(f"{token.text!r} is not a time like 14:00, 14:00:10 or 2pm", token)
    hour = int(match[1])
    minute = _in_range(cursor, "minute", int(match[2] or 0), 0, 59, token)
    second = _in_range(cursor, "second", int(match[3] or 0), 0, 59, token)
    if match[4]:
        _in_range(cursor, "hour", hour, 1, 12, token)
        hour = hour % 12 + (12 if match[4] == "p" else 0)
    else:
        _in_range(cursor, "hour", hour, 0, 23, token)
    return hour, minute, second


def _month(cursor: Cursor, part: str, token: Token) -> int:
    if part.isdigit():
        return _in_range(cursor, "month", int(part), 1, 12, token)
    if part.lower() in MONTHS:
        return MONTHS[part.lower()]
    cursor.fail(f"unknown month {part!r} in {token.text!r}, expected jan..dec or 1-12", token)


def _date(cursor: Cursor, token: Token) -> dict[str, object]:
    """``2023-01-23``, ``2023-JAN``, ``Jan-23``, ``23-Jan``, ``12-31`` -> fields."""
    parts = token.text.split("-")
    special = _SPECIAL_DAYS.get(parts[0].lower())
    if special and len(parts) == 2 and parts[1].isdigit():  # LastDay-1
        return {"day": DaySpec(special, offset=-int(parts[1]))}
    year: int | None = None
    if parts[0].isdigit() and len(parts[0]) == 4:
        year = _in_range(cursor, "year", int(parts[0]), 1, 9998, token)
        parts = parts[1:]
    if len(parts) == 1 and year is not None:
        return {"year": year, "month": _month(cursor, parts[0], token)}
    if len(parts) != 2:
        cursor.fail(f"{token.text!r} is not a date like 2023-01-23, Jan-23 or 12-31", token)
    month_part, day_part = parts
    if month_part.isdigit() and not day_part.isdigit():  # 23-Jan
        month_part, day_part = day_part, month_part
    month = _month(cursor, month_part, token)
    if not day_part.isdigit():
        cursor.fail(f"{token.text!r} is not a date like 2023-01-23, Jan-23 or 12-31", token)
    longest = calendar.monthrange(year or 2000, month)[1]  # 2000: Feb 29 exists
    day = _in_range(cursor, "day", int(day_part), 1, longest, token)
    return {"year": year, "month": month, "day": DaySpec("day", day)}


def _with_offset(cursor: Cursor, spec: DaySpec) -> DaySpec:
    sign = cursor.peek()
    number = cursor.peek(1)
    if sign is None or sign.kind not in "+-" or number is None or number.kind != "number":
        return spec
    cursor.index += 2
    offset = int(number.text) * (1 if sign.kind == "+" else -1)
    return DaySpec(spec.kind, spec.number, spec.weekday, spec.offset + offset)


def _day_number(cursor: Cursor, token: Token) -> DaySpec:
    digits = re.match(r"\d+", token.text)
    assert digits is not None
    return DaySpec("day", _in_range(cursor, "day", int(digits.group()), 1, 31, token))


def _ordinal(cursor: Cursor, token: Token) -> DaySpec:
    suffix = re.sub(r"^\d+(?:st|nd|rd|th)", "", token.value)
    if not suffix:
        return _day_number(cursor, token)
    nth = nth_weekday_word(token.value)
    if nth is None or not 1 <= nth[0] <= 5:
        cursor.fail(f"{token.text!r} is not a day like 10th or 2ndFriday (1st..5th)", token)
    return DaySpec("nth_weekday", nth[0], nth[1])


def _unit_number(cursor: Cursor, unit: str, token: Token) -> tuple[str, object]:
    """``hour 10``, ``day 10``, ``day last - 1``... with ``token`` the number (or word)."""
    if unit == "day" and token.kind == "word" and token.value in ("first", "last"):
        return "day", _with_offset(cursor, DaySpec(token.value))
    if unit == "day" and token.kind == "ordinal":
        return "day", _with_offset(cursor, _ordinal(cursor, token))
    if token.kind != "number" or unit not in _UNIT_LIMITS:
        cursor.fail(f"expected a number after the unit {unit!r}, got {token.text!r}", token)
    low, high = _UNIT_LIMITS[unit]
    number = _in_range(cursor, unit, int(token.text), low, high, token)
    if unit == "day":
        return "day", _with_offset(cursor, DaySpec("day", number))
    return unit, number


def _word(cursor: Cursor, token: Token) -> tuple[str, object]:
    """A name: weekday, month, unit + number, special day, ``first``/``last`` [day]."""
    word = token.value
    unit = unit_of(word)
    if unit is not None:
        return _unit_number(cursor, unit, cursor.take())
    if word in WEEKDAYS:
        return "weekday", WEEKDAYS[word]
    if word in MONTHS:
        return "month", MONTHS[word]
    if word in ("first", "last"):
        following = cursor.peek()
        if following is not None and following.kind == "word" and unit_of(following.value) == "day":
            cursor.take()
        return "day", _with_offset(cursor, DaySpec(word))
    if word in _SPECIAL_DAYS:
        return "day", _with_offset(cursor, DaySpec(_SPECIAL_DAYS[word]))
    if word == "closestweekdayto":
        target = cursor.take()
        if target.kind not in ("number", "ordinal"):
            cursor.fail(
                f"expected a day like 15th after ClosestWeekdayTo, got {target.text!r}", target
            )
        number = _day_number(cursor, target).number
        return "day", _with_offset(cursor, DaySpec("closest_weekday", number))
    nth = nth_weekday_word(word)
    if nth is not None:
        return "day", _with_offset(cursor, DaySpec("nth_weekday", nth[0], nth[1]))
    cursor.fail(f"unknown name {token.text!r}, expected {NAMES_HELP}", token)


def _part(cursor: Cursor, unit: str | None) -> dict[str, object]:
    """Parse one token (plus its arguments) of a value into fixed fields."""
    token = cursor.take()
    if token.kind == "time":
        hour, minute, second = parse_time(cursor, token)
        return {"hour": hour, "minute": minute, "second": second}
    if token.kind == "date":
        return {name: item for name, item in _date(cursor, token).items() if item is not None}
    if token.kind == "ordinal":
        return {"day": _with_offset(cursor, _ordinal(cursor, token))}
    if token.kind == "number":
        if unit is not None:
            name, number = _unit_number(cursor, unit, token)
            return {name: number}
        if len(token.text) == 4:
            return {"year": _in_range(cursor, "year", int(token.text), 1, 9998, token)}
        return {"day": _with_offset(cursor, _day_number(cursor, token))}
    if token.kind == "word":
        if unit == "day" and token.value in ("first", "last"):
            return dict([_unit_number(cursor, unit, token)])
        name, item = _word(cursor, token)
        return {name: item}
    cursor.fail(f"expected {NAMES_HELP}, got {token.text!r}", token)


def parse_value(
    cursor: Cursor,
    *,
    in_list: bool,
    unit: str | None = None,
    stop_words: frozenset[str] = frozenset(),
) -> tuple[Value, str | None]:
    """Parse tokens up to the end of one value; return it and the unit it was given in.

    ``unit`` (from ``day [1, 2]`` or the first bound of ``between hour 9 and 17``)
    gives bare numbers a meaning.  Outside brackets, commas inside a value are ignored.
    """
    first = cursor.peek()
    if first is None:
        cursor.fail_at_end(NAMES_HELP)
    fields: dict[str, object] = {}
    while (token := cursor.peek()) is not None and not ends_value(token, in_list, stop_words):
        if token.kind == ",":
            following = cursor.peek(1)
            if following is None or ends_value(following, True, stop_words):
                break
            cursor.take()
            continue
        if token.kind == "word" and unit_of(token.value) is not None:
            unit = unit_of(token.value)
        for name, item in _part(cursor, unit).items():
            if name in fields:
                cursor.fail(f"the {name} is given twice in one value", token)
            fields[name] = item
    if not fields:
        cursor.fail(f"expected {NAMES_HELP}", first)
    return Value(first.position, **fields), unit  # type: ignore[arg-type]
