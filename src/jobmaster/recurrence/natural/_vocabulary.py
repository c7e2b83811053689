"""Words of the NaturalCron language: keywords, units, weekday and month names."""

from __future__ import annotations

import re

__all__ = [
    "ANCHOR_KEYWORDS",
    "MONTHS",
    "NAMES_HELP",
    "ORDINAL_WORDS",
    "RULE_KEYWORDS",
    "SHORTCUTS",
    "UNITS",
    "WEEKDAYS",
    "nth_weekday_word",
    "unit_of",
]

#: Canonical units, finest first.
UNITS = ("second", "minute", "hour", "day", "week", "month", "year")

_UNIT_ALIASES = {
    "second": ("second", "sec", "secs", "seconds"),
    "minute": ("minute", "min", "mins", "minutes"),
    "hour": ("hour", "hr", "hrs", "hours"),
    "day": ("day", "dy", "days", "dys"),
    "week": ("week", "wk", "weeks", "wks"),
    "month": ("month", "mth", "months", "mths"),
    "year": ("year", "yr", "years", "yrs"),
}
_UNIT_BY_ALIAS = {alias: unit for unit, aliases in _UNIT_ALIASES.items() for alias in aliases}

SHORTCUTS = {
    "secondly": "second",
    "minutely": "minute",
    "hourly": "hour",
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
}

ANCHOR_KEYWORDS = frozenset({"anchoredon", "anchoredat", "basedon", "basedat"})
RULE_KEYWORDS = frozenset(
    {"every", "at", "on", "in", "between", "upto", "from", "tz", "timezone", *SHORTCUTS}
)

#: Monday = 0 ... Sunday = 6, like ``date.weekday()``.
WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}

_MONTH_NAMES = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)
MONTHS = {name: index + 1 for index, name in enumerate(_MONTH_NAMES)}
MONTHS.update({name[:3]: index + 1 for index, name in enumerate(_MONTH_NAMES)})
MONTHS["sept"] = 9

ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}

NAMES_HELP = (
    "a weekday (monday..sunday or mon..sun), a month (january..december or jan..dec), "
    "a time like 10:30 or 2pm, a day like 10th, or a special day like LastDay"
)

_NTH_WEEKDAY = re.compile(
    r"^(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)("
    + "|".join(sorted(WEEKDAYS, key=len, reverse=True))
    + r")$"
)


def unit_of(word: str) -> str | None:
    """Canonical unit for a unit word or alias (``"hrs"`` -> ``"hour"``), else None."""
    return _UNIT_BY_ALIAS.get(word)


def nth_weekday_word(word: str) -> tuple[int, int] | None:
    """``"2ndfriday"`` -> ``(2, 4)``; ``"lastmon"`` -> ``(-1, 0)``; otherwise None."""
    match = _NTH_WEEKDAY.match(word)
    if not match:
        return None
    ordinal = match[1]
    number = ORDINAL_WORDS.get(ordinal) or int(ordinal[0])
    return number, WEEKDAYS[match[2]]
