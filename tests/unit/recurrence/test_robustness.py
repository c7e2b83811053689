"""Arbitrary token soup either parses or raises ValueError, and evaluation never crashes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobmaster.recurrence import parse_expression

WORDS = [
    "every",
    "at",
    "on",
    "in",
    "between",
    "and",
    "upto",
    "from",
    "tz",
    "timezone",
    "AnchoredOn",
    "day",
    "days",
    "hour",
    "minutes",
    "sec",
    "week",
    "month",
    "year",
    "mon",
    "fri",
    "jan",
    "dec",
    "LastDay",
    "FirstDay",
    "FirstWeekday",
    "LastWeekday",
    "ClosestWeekdayTo",
    "2ndFriday",
    "LastMon",
    "first",
    "last",
    "1st",
    "15th",
    "31st",
    "0",
    "1",
    "5",
    "25",
    "2030",
    "10:30",
    "2pm",
    "25:00",
    "[",
    "]",
    ",",
    "+",
    "-",
    "Europe/Paris",
    "Mars/Olympus",
    "2026-02-29",
    "jan-31",
    "12-31",
    "hourly",
    "daily",
    "@every",
    "*",
    "*/5",
]


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
def test_token_soup(words: list[str]) -> None:
    text = " ".join(words)
    try:
        expression = parse_expression(text)
    except ValueError:
        return
    results = expression.occurrences(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), 3)
    assert results == sorted(set(results))
    assert all(r.tzinfo is UTC for r in results)
