"""Parsed form of a NaturalCron expression (what the parser builds, the matcher reads)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from functools import lru_cache

__all__ = [
    "DATE_FIELDS",
    "FIELDS",
    "TIME_FIELDS",
    "DaySpec",
    "Every",
    "Range",
    "RangeRule",
    "Selection",
    "Spec",
    "Value",
    "resolve_day",
]

#: Fields a value can fix, coarsest first.  ``day`` is the day of the month.
FIELDS = ("year", "month", "day", "weekday", "hour", "minute", "second")
DATE_FIELDS = ("year", "month", "day", "weekday")
TIME_FIELDS = ("hour", "minute", "second")
#: Granularity level of each field (and unit): a larger level is coarser.
LEVEL = {"second": 0, "minute": 1, "hour": 2, "day": 3, "weekday": 3, "week": 4, "month": 5}
LEVEL["year"] = 6


@dataclass(frozen=True)
class DaySpec:
    """A day of the month, possibly computed per month (``LastDay - 1``, ``2ndFriday``).

    ``kind`` is one of ``day`` (``number``), ``first``, ``last``, ``first_weekday``,
    ``last_weekday``, ``closest_weekday`` (to day ``number``), ``nth_weekday``
    (``number``-th ``weekday``; ``number = -1`` is the last one).  ``offset`` days are
    added afterwards and the result is clamped within the month.
    """

    kind: str
    number: int = 0
    weekday: int = 0
    offset: int = 0


def _closest_weekday(year: int, month: int, number: int) -> int | None:
    last = calendar.monthrange(year, month)[1]
    if number > last:
        return None
    weekday = calendar.weekday(year, month, number)
    if weekday == 5:  # Saturday: the Friday before, unless that leaves the month
        return number - 1 if number > 1 else number + 2
    if weekday == 6:  # Sunday: the Monday after, unless that leaves the month
        return number + 1 if number < last else number - 2
    return number


def _nth_weekday(year: int, month: int, number: int, weekday: int) -> int | None:
    first_weekday, last = calendar.monthrange(year, month)
    first = 1 + (weekday - first_weekday) % 7
    if number == -1:
        return first + (last - first) // 7 * 7
    day = first + (number - 1) * 7
    return day if day <= last else None


def _base_day(spec: DaySpec, year: int, month: int) -> int | None:
    first_weekday, last = calendar.monthrange(year, month)
    if spec.kind == "day":
        return spec.number if spec.number <= last else None
    if spec.kind == "first":
        return 1
    if spec.kind == "last":
        return last
    if spec.kind == "first_weekday":
        return {5: 3, 6: 2}.get(first_weekday, 1)
    if spec.kind == "last_weekday":
        return last - {5: 1, 6: 2}.get(calendar.weekday(year, month, last), 0)
    if spec.kind == "closest_weekday":
        return _closest_weekday(year, month, spec.number)
    return _nth_weekday(year, month, spec.number, spec.weekday)


@lru_cache(maxsize=4096)
def resolve_day(spec: DaySpec, year: int, month: int) -> int | None:
    """The day of ``month`` that ``spec`` designates, or None when the month has none."""
    day = _base_day(spec, year, month)
    if day is None or not spec.offset:
        return day
    return min(max(day + spec.offset, 1), calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Value:
    """One point of the calendar with some fields fixed (``None`` = any)."""

    position: int
    year: int | None = None
    month: int | None = None
    day: DaySpec | None = None
    weekday: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None

    def fields(self) -> frozenset[str]:
        """Names of the fixed fields."""
        return frozenset(name for name in FIELDS if getattr(self, name) is not None)

    def with_fields(self, **changes: object) -> Value:
        """A copy with more fields fixed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Every:
    """``every <count> <unit> [AnchoredOn <anchor>]``; ``anchor`` is a unit index."""

    count: int
    unit: str
    anchor: int
    position: int


@dataclass(frozen=True)
class Selection:
    """An ``at``/``on``/``in`` rule: the time must match one of ``items``."""

    keyword: str
    items: tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of one ``kind`` (``None`` = open, for ``from``/``upto``)."""

    kind: str
    low: Value | None
    high: Value | None


@dataclass(frozen=True)
class RangeRule:
    """A ``between``/``from``/``upto`` rule: the time must lie in one of ``ranges``."""

    keyword: str
    ranges: tuple[Range, ...]
    position: int


@dataclass
class Spec:
    """Everything an expression says, before defaults are filled in."""

    every: Every | None = None
    selections: list[Selection] = field(default_factory=list)
    ranges: list[RangeRule] = field(default_factory=list)
    tz: str | None = None
