"""The ``CalendarMatcher`` of natural expressions, built from compiled :class:`Rules`."""

from __future__ import annotations

from datetime import date

from ._compile import Rules
from ._dates import (
    DATE_RANGE_KINDS,
    every_matches_date,
    every_matches_month,
    in_date_range,
    value_matches_date,
)
from ._model import TIME_FIELDS, Range
from ._times import TimePart, TimeRules

__all__ = ["NaturalMatcher"]

_CACHE_LIMIT = 4096


class NaturalMatcher:
    """Answers the search loop's questions for one natural expression."""

    def __init__(self, rules: Rules) -> None:
        self.every = rules.every
        self.selections = rules.selections
        self.date_ranges = [r for r in rules.ranges if r[0].kind in DATE_RANGE_KINDS]
        self.times = TimeRules(
            rules.every, [r for r in rules.ranges if r[0].kind not in DATE_RANGE_KINDS]
        )
        self._cache: dict[tuple[tuple[tuple[TimePart, ...], ...], int], int | None] = {}
        self._last_year = _last_year(rules)

    def month_matches(self, year: int, month: int) -> bool:
        if not every_matches_month(self.every, year, month):
            return False
        for items in self.selections:
            if not any(
                (v.year is None or v.year == year) and (v.month is None or v.month == month)
                for v in items
            ):
                return False
        return all(_month_possible(ranges, year, month) for ranges in self.date_ranges)

    def first_second(self, day: date, start: int) -> int | None:
        if not every_matches_date(self.every, day):
            return None
        if not all(any(in_date_range(r, day) for r in ranges) for ranges in self.date_ranges):
            return None
        parts: list[tuple[TimePart, ...]] = []
        for items in self.selections:
            matching = {(v.hour, v.minute, v.second) for v in items if value_matches_date(v, day)}
            if not matching:
                return None
            if (None, None, None) not in matching:
                parts.append(tuple(sorted(matching, key=repr)))
        key = (tuple(parts), start)
        if key not in self._cache:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = self.times.first(key[0], start)
        return self._cache[key]

    def last_year(self) -> int | None:
        return self._last_year


def _month_possible(ranges: tuple[Range, ...], year: int, month: int) -> bool:
    kind = ranges[0].kind
    if kind not in ("month", "year"):
        return True
    return any(in_date_range(r, date(year, month, 1)) for r in ranges)


def _last_year(rules: Rules) -> int | None:
    """The last year the expression can fire in, when every value of a rule names a year."""
    years = [
        max(v.year for v in items if v.year is not None)
        for items in rules.selections
        if all(v.year is not None for v in items)
    ]
    for ranges in rules.ranges:
        highs = [r.high.year if r.high is not None else None for r in ranges]
        if ranges[0].kind in ("year", "date") and None not in highs:
            years.append(max(h for h in highs if h is not None))
    assert TIME_FIELDS
    return min(years) if years else None
