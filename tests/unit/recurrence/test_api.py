"""The public surface: parse_expression, expression_from_storage and the shared contract."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

import jobmaster.recurrence as recurrence
from jobmaster.recurrence import (
    Cron,
    Interval,
    NaturalExpression,
    RecurrenceExpression,
    expression_from_storage,
    parse_expression,
)

from .helpers import utc


def test_public_names() -> None:
    assert set(recurrence.__all__) == {
        "RecurrenceExpression",
        "Cron",
        "Interval",
        "NaturalExpression",
        "parse_expression",
        "expression_from_storage",
    }


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (timedelta(minutes=5), Interval),
        ("*/5 * * * *", Cron),
        ("0 30 9 * * mon-fri", Cron),
        ("0 9 * JAN,Jul sun", Cron),
        ("@daily", Cron),
        ("@HOURLY", Cron),
        ("every 5 minutes", NaturalExpression),
        ("every 30 minutes on mon", NaturalExpression),  # five words but not cron fields
        ("at 10:00 on [mon, tue]", NaturalExpression),
        ("daily", NaturalExpression),
        ("@every day", NaturalExpression),
    ],
)
def test_parse_expression_dispatch(value: object, kind: type) -> None:
    assert isinstance(parse_expression(value, default_tz="Europe/Paris"), kind)  # type: ignore[arg-type]


def test_parse_expression_passes_default_tz() -> None:
    assert parse_expression("*/5 * * * *", default_tz="Europe/Paris").tz == "Europe/Paris"
    assert parse_expression("every day", default_tz="Asia/Tokyo").tz == "Asia/Tokyo"
    assert parse_expression("every day tz UTC", default_tz="Asia/Tokyo").tz == "UTC"
    assert parse_expression(timedelta(seconds=5), default_tz="Asia/Tokyo").tz == "UTC"


def test_parse_expression_returns_expressions_unchanged() -> None:
    expression = Cron("@daily")
    assert parse_expression(expression) is expression


@pytest.mark.parametrize("value", [timedelta(0), "", "61 * * * *", "every 0 days", 42])
def test_parse_expression_rejects_bad_input(value: object) -> None:
    with pytest.raises(ValueError):
        parse_expression(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expression",
    [
        Interval(timedelta(seconds=90)),
        Interval(timedelta(hours=1), anchor=utc(2026, 1, 1, 0, 30)),
        Cron("*/5 * * * *", "Europe/Paris"),
        Cron("@weekly"),
        NaturalExpression("every day at 09:00 tz Europe/Paris"),
        NaturalExpression("every 30 minutes between 09:00 and 18:00", "America/New_York"),
    ],
    ids=repr,
)
def test_storage_round_trip(expression: RecurrenceExpression) -> None:
    kind, text, tz = expression.to_storage()
    rebuilt = expression_from_storage(kind, text, tz)
    assert rebuilt == expression
    assert type(rebuilt) is type(expression)
    assert rebuilt.occurrences(utc(2026, 3, 1), 5) == expression.occurrences(utc(2026, 3, 1), 5)


def test_storage_examples() -> None:
    assert NaturalExpression("every day at 09:00 tz Europe/Paris").to_storage() == (
        "natural",
        "every day at 09:00 tz Europe/Paris",
        "Europe/Paris",
    )
    assert Cron("*/5 * * * *").to_storage() == ("cron", "*/5 * * * *", "UTC")


def test_unknown_storage_kind() -> None:
    with pytest.raises(ValueError, match="unknown expression kind 'never'"):
        expression_from_storage("never", "", "UTC")


@pytest.mark.parametrize(
    "expression",
    [Interval(timedelta(seconds=1)), Cron("* * * * *"), NaturalExpression("minutely")],
    ids=repr,
)
def test_contract(expression: RecurrenceExpression) -> None:
    with pytest.raises(ValueError, match="must be a timezone-aware datetime"):
        expression.next_after(datetime(2026, 1, 1))
    after = utc(2026, 1, 1)
    results = expression.occurrences(after, 3)
    assert len(results) == 3
    assert all(r.tzinfo is UTC for r in results)
    assert after < results[0] < results[1] < results[2]
    assert expression.occurrences(after, 0) == []
    with pytest.raises(ValueError):
        expression.occurrences(after, -1)


def test_occurrences_stop_when_the_expression_ends() -> None:
    assert NaturalExpression("on 2027-01-01 09:00").occurrences(utc(2026, 1, 1), 5) == [
        utc(2027, 1, 1, 9)
    ]


def test_long_gaps_are_fast() -> None:
    started = time.perf_counter()
    assert NaturalExpression("on 29th in feb at 12:00").next_after(utc(2097, 3, 1)) == utc(
        2104, 2, 29, 12
    )
    fifth_monday = NaturalExpression("every month on 5thMonday in feb")  # Feb 29 is a Monday
    assert fifth_monday.next_after(utc(2040, 1, 1)) == utc(2044, 2, 29)
    # 2044 is more than 10 years after 2026: beyond the search horizon, reported as None.
    assert fifth_monday.next_after(utc(2026, 1, 1)) is None
    assert NaturalExpression("on 30th in feb").next_after(utc(2026, 1, 1)) is None
    assert Cron("0 0 29 2 mon").next_after(utc(2026, 1, 1)) is not None
    assert time.perf_counter() - started < 1.0
