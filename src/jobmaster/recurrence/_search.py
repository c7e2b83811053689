"""Shared search loop for calendar expressions (cron and natural).

A calendar expression supplies a :class:`CalendarMatcher` that answers questions about
local wall-clock time; this module walks the local calendar (month by month, then day
by day, never second by second) and converts the match to an instant with the DST
rules of :mod:`._zones`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol

from ._base import RecurrenceExpression, truncate_to_second
from ._zones import load_zone, search_start, wall_to_instant

__all__ = ["HORIZON_YEARS", "CalendarExpression", "CalendarMatcher"]

#: An expression that does not fire within this many years is considered finished.
HORIZON_YEARS = 10
_ONE_SECOND = timedelta(seconds=1)


class CalendarMatcher(Protocol):
    """Field matching for one expression, in local wall-clock time."""

    def month_matches(self, year: int, month: int) -> bool:
        """Whether any day of this month may match (a cheap, conservative filter)."""
        ...

    def first_second(self, day: date, start: int) -> int | None:
        """First matching second of ``day`` (seconds since midnight) ``>= start``, or None."""
        ...

    def last_year(self) -> int | None:
        """A year after which nothing can match, when the expression names years."""
        ...


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def next_wall_time(matcher: CalendarMatcher, start: datetime, limit: date) -> datetime | None:
    """First naive wall time ``>= start`` (whole seconds) on or before ``limit`` that matches."""
    day = start.date()
    second = start.hour * 3600 + start.minute * 60 + start.second
    while day <= limit:
        if not matcher.month_matches(day.year, day.month):
            day, second = _next_month(day), 0
            continue
        found = matcher.first_second(day, second)
        if found is not None:
            clock = time(found // 3600, found // 60 % 60, found % 60)
            return datetime.combine(day, clock)
        day, second = day + timedelta(days=1), 0
    return None


def _horizon(start: datetime, last_year: int | None) -> date:
    """Last local date searched: ~10 years ahead, or the end of the last named year."""
    if last_year is not None:
        return date(min(last_year, 9998), 12, 31)
    return date(min(start.year + HORIZON_YEARS, 9998), start.month, 1) + timedelta(days=31)


class CalendarExpression(RecurrenceExpression):
    """Base for expressions evaluated on the local calendar of an IANA zone."""

    def __init__(self, text: str, tz: str, matcher: CalendarMatcher) -> None:
        self.text = text
        self.tz = tz
        self._zone = load_zone(tz)
        self._matcher = matcher

    def next_after(self, after: datetime) -> datetime | None:
        """See :meth:`RecurrenceExpression.next_after`; DST rules in :mod:`._zones`."""
        instant_after = truncate_to_second(after)
        matcher = self._matcher
        start = search_start(instant_after, self._zone)
        limit = _horizon(start, matcher.last_year())
        while True:
            wall = next_wall_time(matcher, start, limit)
            if wall is None:
                return None
            instant = wall_to_instant(wall, self._zone)
            if instant > instant_after:
                return instant
            start = wall + _ONE_SECOND
