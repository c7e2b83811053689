"""Example tests for classic cron expressions."""

from __future__ import annotations

import re
import time

import pytest

from jobmaster.recurrence import Cron

from .helpers import stamps, utc, walls


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * *", utc(2026, 1, 1, 0, 3), ["2026-01-01 00:05:00", "2026-01-01 00:10:00"]),
        ("0 9 * * mon-fri", utc(2026, 1, 2, 10), ["2026-01-05 09:00:00", "2026-01-06 09:00:00"]),
        ("30 8 1 * *", utc(2026, 1, 1, 8, 30), ["2026-02-01 08:30:00", "2026-03-01 08:30:00"]),
        ("0 0 * JAN,jul SUN", utc(2026, 1, 1), ["2026-01-04 00:00:00", "2026-01-11 00:00:00"]),
        ("0 12 * * 7", utc(2026, 1, 1), ["2026-01-04 12:00:00", "2026-01-11 12:00:00"]),
        ("0 12 * * 0", utc(2026, 1, 1), ["2026-01-04 12:00:00", "2026-01-11 12:00:00"]),
        ("15 10-12/2 * * *", utc(2026, 1, 1), ["2026-01-01 10:15:00", "2026-01-01 12:15:00"]),
        ("5/20 * * * *", utc(2026, 1, 1), ["2026-01-01 00:05:00", "2026-01-01 00:25:00"]),
        ("*/20 * * * * *", utc(2026, 1, 1), ["2026-01-01 00:00:20", "2026-01-01 00:00:40"]),
        ("10 0 0 1 1 *", utc(2026, 1, 1, 0, 0, 10), ["2027-01-01 00:00:10", "2028-01-01 00:00:10"]),
        ("@hourly", utc(2026, 1, 1, 0, 0, 1), ["2026-01-01 01:00:00", "2026-01-01 02:00:00"]),
        ("@daily", utc(2026, 1, 1), ["2026-01-02 00:00:00", "2026-01-03 00:00:00"]),
        ("@midnight", utc(2026, 1, 1), ["2026-01-02 00:00:00", "2026-01-03 00:00:00"]),
        ("@weekly", utc(2026, 1, 1), ["2026-01-04 00:00:00", "2026-01-11 00:00:00"]),
        ("@monthly", utc(2026, 1, 1), ["2026-02-01 00:00:00", "2026-03-01 00:00:00"]),
        ("@yearly", utc(2026, 1, 1), ["2027-01-01 00:00:00", "2028-01-01 00:00:00"]),
        ("@annually", utc(2026, 1, 1), ["2027-01-01 00:00:00", "2028-01-01 00:00:00"]),
    ],
)
def test_examples(expression: str, after: object, expected: list[str]) -> None:
    assert stamps(Cron(expression), after, len(expected)) == expected  # type: ignore[arg-type]


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    # The 13th or any Friday (Vixie cron OR semantics).
    got = stamps(Cron("0 0 13 * fri"), utc(2026, 2, 1), 4)
    assert got == [
        "2026-02-06 00:00:00",
        "2026-02-13 00:00:00",
        "2026-02-20 00:00:00",
        "2026-02-27 00:00:00",
    ]
    assert stamps(Cron("0 0 13 * fri"), utc(2026, 3, 7), 2) == [
        "2026-03-13 00:00:00",
        "2026-03-20 00:00:00",
    ]


def test_star_step_counts_as_unrestricted_for_or_semantics() -> None:
    # dom "*/2" starts with '*': AND semantics, odd days that are Mondays.
    assert stamps(Cron("0 0 */2 * mon"), utc(2026, 1, 1), 2) == [
        "2026-01-05 00:00:00",
        "2026-01-19 00:00:00",
    ]


def test_leap_day_only_in_leap_years_and_fast() -> None:
    started = time.perf_counter()
    got = stamps(Cron("0 0 29 2 *"), utc(2026, 1, 1), 3)
    assert got == ["2028-02-29 00:00:00", "2032-02-29 00:00:00", "2036-02-29 00:00:00"]
    assert stamps(Cron("0 0 29 2 *"), utc(2097, 3, 1), 1) == [
        "2104-02-29 00:00:00"
    ]  # 2100 is no leap year
    assert time.perf_counter() - started < 0.5


def test_impossible_date_returns_none_quickly() -> None:
    started = time.perf_counter()
    assert Cron("0 0 30 2 *").next_after(utc(2026, 1, 1)) is None
    assert Cron("0 0 31 4,6,9,11 *").next_after(utc(2026, 1, 1)) is None
    assert time.perf_counter() - started < 0.5


def test_31st_only_in_long_months() -> None:
    got = stamps(Cron("0 6 31 * *"), utc(2026, 1, 31, 7), 4)
    assert got == [
        "2026-03-31 06:00:00",
        "2026-05-31 06:00:00",
        "2026-07-31 06:00:00",
        "2026-08-31 06:00:00",
    ]


def test_paris_spring_forward_gap_runs_at_three() -> None:
    cron = Cron("30 2 * * *", "Europe/Paris")
    assert walls(cron, utc(2026, 3, 27), 3, "Europe/Paris") == [
        "2026-03-27 02:30:00+01:00",
        "2026-03-28 02:30:00+01:00",
        "2026-03-29 03:00:00+02:00",  # 02:30 does not exist that night
    ]
    assert walls(cron, utc(2026, 3, 29, 1), 1, "Europe/Paris") == ["2026-03-30 02:30:00+02:00"]


def test_paris_fall_back_overlap_runs_once() -> None:
    cron = Cron("30 2 * * *", "Europe/Paris")
    assert walls(cron, utc(2026, 10, 24), 3, "Europe/Paris") == [
        "2026-10-24 02:30:00+02:00",
        "2026-10-25 02:30:00+02:00",  # first pass only
        "2026-10-26 02:30:00+01:00",
    ]


def test_new_york_quarter_hours_across_both_transitions() -> None:
    cron = Cron("*/30 * * * *", "America/New_York")
    assert walls(cron, utc(2026, 3, 8, 6, 15), 3, "America/New_York") == [
        "2026-03-08 01:30:00-05:00",
        "2026-03-08 03:00:00-04:00",  # 02:00 and 02:30 fall in the gap: one run at 03:00
        "2026-03-08 03:30:00-04:00",
    ]
    assert walls(cron, utc(2026, 11, 1, 5, 15), 4, "America/New_York") == [
        "2026-11-01 01:30:00-04:00",
        "2026-11-01 02:00:00-05:00",  # the repeated 01:00-01:59 hour runs once
        "2026-11-01 02:30:00-05:00",
        "2026-11-01 03:00:00-05:00",
    ]


def test_after_inside_second_pass_of_overlap() -> None:
    cron = Cron("*/15 * * * *", "Europe/Paris")
    # 01:20 UTC is 02:20 CET, the second pass; 02:30 CEST already ran at 00:30 UTC.
    assert stamps(cron, utc(2026, 10, 25, 1, 20), 2) == [
        "2026-10-25 02:00:00",
        "2026-10-25 02:15:00",
    ]


def test_text_and_storage() -> None:
    cron = Cron("  */5   *  * * * ", "Europe/Paris")
    assert cron.text == "*/5 * * * *"
    assert cron.to_storage() == ("cron", "*/5 * * * *", "Europe/Paris")
    assert Cron("@daily").tz == "UTC"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "cron minute field: 61 is out of range 0-59"),
        ("* 24 * * *", "cron hour field: 24 is out of range 0-23"),
        ("* * 0 * *", "cron day-of-month field: 0 is out of range 1-31"),
        ("* * 32 * *", "cron day-of-month field: 32 is out of range 1-31"),
        ("* * * 13 *", "cron month field: 13 is out of range 1-12"),
        ("* * * * 8", "cron day-of-week field: 8 is out of range 0-7"),
        ("60 * * * * *", "cron second field: 60 is out of range 0-59"),
        ("*/0 * * * *", "cron minute field: step must be a positive integer, got '0'"),
        ("* * * foo *", "cron month field: 'foo' is not valid"),
        ("* * * * funday", "cron day-of-week field: 'funday' is not valid"),
        ("5-1 * * * *", "cron minute field: range '5-1' runs backwards"),
        ("1,,2 * * * *", "cron minute field: empty list item"),
        ("* * * *", "expected 5 fields"),
        ("@often", "got 1 field(s)"),
    ],
)
def test_errors_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Cron(expression)


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Cron("* * * * *", "Mars/Olympus")
