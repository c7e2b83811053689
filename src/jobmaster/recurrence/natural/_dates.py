"""Date-level matching of compiled natural rules: grids, values and date ranges."""

from __future__ import annotations

from datetime import date

from ._model import Every, Range, Value, resolve_day
from ._parser import DAY_EPOCH, WEEK_EPOCH

__all__ = [
    "DATE_RANGE_KINDS",
    "every_matches_date",
    "every_matches_month",
    "in_date_range",
    "value_matches_date",
]

DATE_RANGE_KINDS = frozenset({"day", "weekday", "month", "year", "monthday", "date"})


def every_matches_month(every: Every | None, year: int, month: int) -> bool:
    """The month/year grid of ``every N months|years`` (finer grids always pass here)."""
    if every is None or every.count == 1:
        return True
    if every.unit == "month":
        return (year * 12 + month - 1 - every.anchor) % every.count == 0
    if every.unit == "year":
        return (year - every.anchor) % every.count == 0
    return True


def every_matches_date(every: Every | None, day: date) -> bool:
    """The day/week grid of ``every N days|weeks``: counted from 1970-01-01 / 1970-01-05."""
    if every is None or every.count == 1:
        return True
    if every.unit == "day":
        return (day.toordinal() - DAY_EPOCH - every.anchor) % every.count == 0
    if every.unit == "week":
        return ((day.toordinal() - WEEK_EPOCH) // 7 - every.anchor) % every.count == 0
    return every_matches_month(every, day.year, day.month)


def value_matches_date(value: Value, day: date) -> bool:
    """Whether the date fields of ``value`` (year, month, day, weekday) match ``day``."""
    if value.year is not None and value.year != day.year:
        return False
    if value.month is not None and value.month != day.month:
        return False
    if value.weekday is not None and value.weekday != day.weekday():
        return False
    return value.day is None or resolve_day(value.day, day.year, day.month) == day.day


def _key(kind: str, value: Value, day: date) -> object:
    """The comparable of a bound ``value`` (the bound's day may depend on the month)."""
    if kind == "day":
        assert value.day is not None
        return resolve_day(value.day, day.year, day.month)
    if kind in ("monthday", "date"):
        assert value.day is not None
        month_day = (value.month, value.day.number)
        return month_day if kind == "monthday" else (value.year, *month_day)
    return getattr(value, kind)


def _date_key(kind: str, day: date) -> object:
    keys: dict[str, object] = {
        "day": day.day,
        "weekday": day.weekday(),
        "month": day.month,
        "year": day.year,
        "monthday": (day.month, day.day),
        "date": (day.year, day.month, day.day),
    }
    return keys[kind]


def in_date_range(bounds: Range, day: date) -> bool:
    """Inclusive range test; ``low > high`` wraps around (``between fri and mon``)."""
    current = _date_key(bounds.kind, day)
    low = None if bounds.low is None else _key(bounds.kind, bounds.low, day)
    high = None if bounds.high is None else _key(bounds.kind, bounds.high, day)
    if (bounds.low is not None and low is None) or (bounds.high is not None and high is None):
        return False  # e.g. a 5th Friday the month does not have
    above = low is None or current >= low  # type: ignore[operator]
    below = high is None or current <= high  # type: ignore[operator]
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        return above or below
    return above and below
