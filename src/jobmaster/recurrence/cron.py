"""Classic cron expressions (5 or 6 fields) evaluated in an IANA zone."""

from __future__ import annotations

import calendar
from bisect import bisect_left
from datetime import date

from ._cron_fields import (
    ALIASES,
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH,
    SECOND,
    parse_field,
)
from ._search import CalendarExpression

__all__ = ["Cron"]


class _CronMatcher:
    """Field sets of one cron expression; implements ``CalendarMatcher``."""

    def __init__(self, fields: list[str]) -> None:
        if len(fields) == 5:
            fields = ["0", *fields]
        self.seconds = sorted(parse_field(SECOND, fields[0]))
        self.minutes = sorted(parse_field(MINUTE, fields[1]))
        self.hours = sorted(parse_field(HOUR, fields[2]))
        self.days = parse_field(DAY_OF_MONTH, fields[3])
        self.months = parse_field(MONTH, fields[4])
        self.weekdays = parse_field(DAY_OF_WEEK, fields[5])
        # Vixie cron: a field starting with '*' (or '?') counts as unrestricted.
        self.days_restricted = fields[3][0] not in "*?"
        self.weekdays_restricted = fields[5][0] not in "*?"
        self._first_day = min(self.days)

    def month_matches(self, year: int, month: int) -> bool:
        if month not in self.months:
            return False
        if self.days_restricted and not self.weekdays_restricted:
            return self._first_day <= calendar.monthrange(year, month)[1]
        return True

    def _day_matches(self, day: date) -> bool:
        day_ok = day.day in self.days
        weekday_ok = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def first_second(self, day: date, start: int) -> int | None:
        if not self._day_matches(day):
            return None
        hour, minute, second = start // 3600, start // 60 % 60, start % 60
        for h in self.hours[bisect_left(self.hours, hour) :]:
            m_from = minute if h == hour else 0
            for m in self.minutes[bisect_left(self.minutes, m_from) :]:
                s_from = second if (h == hour and m == minute) else 0
                index = bisect_left(self.seconds, s_from)
                if index < len(self.seconds):
                    return h * 3600 + m * 60 + self.seconds[index]
        return None

    def last_year(self) -> int | None:
        return None


class Cron(CalendarExpression):
    """A classic cron expression evaluated in local wall-clock time of ``tz``.

    Five fields ``minute hour day-of-month month day-of-week`` or six with a leading
    ``second`` field; ``*``, ranges ``a-b``, steps ``*/n`` / ``a-b/n`` / ``a/n``, lists,
    month and weekday names, ``0``/``7`` = Sunday, and the aliases ``@yearly``,
    ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``.
    When both day-of-month and day-of-week are restricted a day matches either (OR), as
    in Vixie cron; a field starting with ``*`` counts as unrestricted.
    """

    kind = "cron"

    def __init__(self, expression: str, tz: str | None = None) -> None:
        text = " ".join(expression.split())
        body = ALIASES.get(text.lower(), text)
        fields = body.split()
        if len(fields) not in (5, 6):
            raise ValueError(
                f"cron expression {expression!r}: expected 5 fields (minute hour day-of-month "
                f"month day-of-week), 6 fields (with seconds first) or an alias like @daily; "
                f"got {len(fields)} field(s)"
            )
        super().__init__(text, tz or "UTC", _CronMatcher(fields))
