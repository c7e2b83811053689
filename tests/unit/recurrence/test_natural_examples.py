"""Example tests for NaturalCron expressions with exact expected datetimes (UTC unless noted)."""

from __future__ import annotations

import pytest

from jobmaster.recurrence import NaturalExpression

from .helpers import stamps, utc, walls

B2020 = utc(2020, 1, 1)
JULY = utc(2020, 7, 1)

CASES = [
    # The examples of the issue.
    ("every 1 minutes", B2020, ["2020-01-01 00:01:00", "2020-01-01 00:02:00"]),
    (
        "every 30 minutes between 09:00 and 18:00 on [mon, tue, wed, thu, fri]",
        utc(2020, 1, 3, 17, 45),  # a Friday
        ["2020-01-03 18:00:00", "2020-01-06 09:00:00", "2020-01-06 09:30:00"],
    ),
    (
        "every day between mon and fri at 18:00",
        utc(2020, 1, 3, 12),
        ["2020-01-03 18:00:00", "2020-01-06 18:00:00", "2020-01-07 18:00:00"],
    ),
    (
        "every 1 hour between 09:00 and 18:00",
        utc(2020, 1, 1, 16, 30),
        ["2020-01-01 17:00:00", "2020-01-01 18:00:00", "2020-01-02 09:00:00"],
    ),
    (
        "every 30 minutes in [jan, jun] between 09:00 and 18:00",
        utc(2020, 1, 31, 17, 45),
        ["2020-01-31 18:00:00", "2020-06-01 09:00:00", "2020-06-01 09:30:00"],
    ),
    (
        "every month on LastDay at 23:00",
        B2020,
        [
            "2020-01-31 23:00:00",
            "2020-02-29 23:00:00",
            "2020-03-31 23:00:00",
            "2020-04-30 23:00:00",
        ],
    ),
    (
        "every month on ClosestWeekdayTo 15th at 08:00",
        utc(2020, 2, 1),
        ["2020-02-14 08:00:00", "2020-03-16 08:00:00", "2020-04-15 08:00:00"],
    ),
    (
        "every month on 2ndFriday at 10:00",
        B2020,
        ["2020-01-10 10:00:00", "2020-02-14 10:00:00", "2020-03-13 10:00:00"],
    ),
    (
        "every month on LastDay - 1",
        B2020,
        ["2020-01-30 00:00:00", "2020-02-28 00:00:00", "2020-03-30 00:00:00"],
    ),
    # every: grids anchored on unit boundaries, epochs and AnchoredOn.
    ("every 15 minutes", utc(2020, 1, 1, 0, 50), ["2020-01-01 01:00:00", "2020-01-01 01:15:00"]),
    ("every 2 hours", utc(2020, 1, 1, 1, 59), ["2020-01-01 02:00:00", "2020-01-01 04:00:00"]),
    ("every 7 minutes", utc(2020, 1, 1, 0, 55), ["2020-01-01 00:56:00", "2020-01-01 01:03:00"]),
    ("every 3 seconds", B2020, ["2020-01-01 00:00:03", "2020-01-01 00:00:06"]),
    ("@every 5 seconds BasedAt 4", B2020, ["2020-01-01 00:00:04", "2020-01-01 00:00:09"]),
    ("every 5 minutes AnchoredOn 7", B2020, ["2020-01-01 00:02:00", "2020-01-01 00:07:00"]),
    ("every 5 hours AnchoredOn 10", B2020, ["2020-01-01 05:00:00", "2020-01-01 10:00:00"]),
    (
        "every 2 days at [10:10, 11:10]",
        B2020,
        ["2020-01-01 10:10:00", "2020-01-01 11:10:00", "2020-01-03 10:10:00"],
    ),
    ("every 3 days", B2020, ["2020-01-03 00:00:00", "2020-01-06 00:00:00"]),
    ("every 3 days AnchoredOn 2020-01-02", B2020, ["2020-01-02 00:00:00", "2020-01-05 00:00:00"]),
    ("every 2 weeks", B2020, ["2020-01-13 00:00:00", "2020-01-27 00:00:00"]),
    (
        "every 2 weeks AnchoredOn 2020-01-08 on [sat, sun] at 10:30",
        B2020,
        ["2020-01-11 10:30:00", "2020-01-12 10:30:00", "2020-01-25 10:30:00"],
    ),
    (
        "every 3 weeks on [monday, friday] at 08:00",
        utc(2025, 7, 1),
        [
            "2025-07-04 08:00:00",
            "2025-07-21 08:00:00",
            "2025-07-25 08:00:00",
            "2025-08-11 08:00:00",
        ],
    ),
    ("every 2 months", JULY, ["2020-09-01 00:00:00", "2020-11-01 00:00:00", "2021-01-01 00:00:00"]),
    (
        "every 2 months AnchoredOn Nov on 1st",
        JULY,
        ["2020-09-01 00:00:00", "2020-11-01 00:00:00", "2021-01-01 00:00:00"],
    ),
    ("@every 2 months BasedOn JUL", B2020, ["2020-03-01 00:00:00", "2020-05-01 00:00:00"]),
    ("every 3 years", JULY, ["2021-01-01 00:00:00", "2024-01-01 00:00:00"]),  # 1970 + 3k
    ("every 3 months", JULY, ["2020-10-01 00:00:00", "2021-01-01 00:00:00"]),  # quarters
    ("every 5 minutes AnchoredOn 00:07", B2020, ["2020-01-01 00:02:00", "2020-01-01 00:07:00"]),
    ("every 2 years", JULY, ["2022-01-01 00:00:00", "2024-01-01 00:00:00"]),
    ("every 2 years AnchoredOn 2021", JULY, ["2021-01-01 00:00:00", "2023-01-01 00:00:00"]),
    ("every mon", JULY, ["2020-07-06 00:00:00", "2020-07-13 00:00:00"]),
    ("every week on tuesday at 9am", JULY, ["2020-07-07 09:00:00", "2020-07-14 09:00:00"]),
    ("every month on [fri]", JULY, ["2020-07-03 00:00:00", "2020-08-07 00:00:00"]),  # first Friday
    # Shortcuts.
    ("secondly", JULY, ["2020-07-01 00:00:01", "2020-07-01 00:00:02"]),
    ("minutely", JULY, ["2020-07-01 00:01:00", "2020-07-01 00:02:00"]),
    ("hourly", JULY, ["2020-07-01 01:00:00", "2020-07-01 02:00:00"]),
    ("daily", JULY, ["2020-07-02 00:00:00", "2020-07-03 00:00:00"]),
    ("weekly", JULY, ["2020-07-06 00:00:00", "2020-07-13 00:00:00"]),
    ("monthly on 15th", JULY, ["2020-07-15 00:00:00", "2020-08-15 00:00:00"]),
    ("yearly", JULY, ["2021-01-01 00:00:00", "2022-01-01 00:00:00"]),
    ("hourly between 09:00 and 17:00", JULY, ["2020-07-01 09:00:00", "2020-07-01 10:00:00"]),
    # at / on / in values.
    ("at 10:30am", JULY, ["2020-07-01 10:30:00", "2020-07-02 10:30:00"]),
    ("@At 9 pm", JULY, ["2020-07-01 21:00:00", "2020-07-02 21:00:00"]),
    ("at 12am", JULY, ["2020-07-02 00:00:00", "2020-07-03 00:00:00"]),
    ("at 12pm", JULY, ["2020-07-01 12:00:00", "2020-07-02 12:00:00"]),
    ("at 2:00:10pm", JULY, ["2020-07-01 14:00:10", "2020-07-02 14:00:10"]),
    ("at 14:00:10", JULY, ["2020-07-01 14:00:10", "2020-07-02 14:00:10"]),
    (
        "at [22:00, 00:00]",
        JULY,
        ["2020-07-01 22:00:00", "2020-07-02 00:00:00", "2020-07-02 22:00:00"],
    ),
    ("on [fri, sat]", JULY, ["2020-07-03 00:00:00", "2020-07-04 00:00:00", "2020-07-10 00:00:00"]),
    ("in [jan, jun]", JULY, ["2021-01-01 00:00:00", "2021-06-01 00:00:00"]),
    ("on 10th", JULY, ["2020-07-10 00:00:00", "2020-08-10 00:00:00"]),
    ("on day 10", JULY, ["2020-07-10 00:00:00", "2020-08-10 00:00:00"]),
    ("in month 10", JULY, ["2020-10-01 00:00:00", "2021-10-01 00:00:00"]),
    (
        "@at day [10, 11, 12]",
        JULY,
        [
            "2020-07-10 00:00:00",
            "2020-07-11 00:00:00",
            "2020-07-12 00:00:00",
            "2020-08-10 00:00:00",
        ],
    ),
    (
        "at [Monday 10:00, Tuesday 11:00]",
        JULY,
        ["2020-07-06 10:00:00", "2020-07-07 11:00:00", "2020-07-13 10:00:00"],
    ),
    ("on 1st JAN 14:00", JULY, ["2021-01-01 14:00:00", "2022-01-01 14:00:00"]),
    ("on 1st, January", JULY, ["2021-01-01 00:00:00", "2022-01-01 00:00:00"]),
    ("on January 1st 2030 at 08:00", JULY, ["2030-01-01 08:00:00"]),
    ("@on 21th jan", JULY, ["2021-01-21 00:00:00", "2022-01-21 00:00:00"]),
    ("@on JAN-01 10:10:10", JULY, ["2021-01-01 10:10:10", "2022-01-01 10:10:10"]),
    ("@At 21 10:10:10", JULY, ["2020-07-21 10:10:10", "2020-08-21 10:10:10"]),
    (
        "@on [JAN-01, FEB-01, MAR-01]",
        B2020,
        ["2020-02-01 00:00:00", "2020-03-01 00:00:00", "2021-01-01 00:00:00"],
    ),
    (
        "at [1st 3am, 3rd 10pm, 6th 11pm]",
        JULY,
        ["2020-07-01 03:00:00", "2020-07-03 22:00:00", "2020-07-06 23:00:00"],
    ),
    (
        "@at [3rd january 10:30:25 am, 3rd jul 10:30:25am]",
        JULY,
        ["2020-07-03 10:30:25", "2021-01-03 10:30:25", "2021-07-03 10:30:25"],
    ),
    ("at minute 30", JULY, ["2020-07-01 00:30:00", "2020-07-01 01:30:00"]),
    ("at hour 10", JULY, ["2020-07-01 10:00:00", "2020-07-02 10:00:00"]),
    ("every 2 hours at minute 30", JULY, ["2020-07-01 00:30:00", "2020-07-01 02:30:00"]),
    ("every 5 minutes at second 15", JULY, ["2020-07-01 00:00:15", "2020-07-01 00:05:15"]),
    (
        "every month on 13th on friday at 13:13",
        utc(2025, 6, 1),
        ["2025-06-13 13:13:00", "2026-02-13 13:13:00", "2026-03-13 13:13:00"],
    ),
    # Special days.
    ("on FirstDay + 2", JULY, ["2020-07-03 00:00:00", "2020-08-03 00:00:00"]),
    (
        "on FirstDay + 31",
        JULY,
        ["2020-07-31 00:00:00", "2020-08-31 00:00:00", "2020-09-30 00:00:00"],
    ),
    ("on LastDay - 31", JULY, ["2020-08-01 00:00:00", "2020-09-01 00:00:00"]),
    (
        "on LastDayOfMonth",
        JULY,
        ["2020-07-31 00:00:00", "2020-08-31 00:00:00", "2020-09-30 00:00:00"],
    ),
    ("on FirstDayOfMonth", JULY, ["2020-08-01 00:00:00", "2020-09-01 00:00:00"]),
    (
        "on FirstWeekday",
        JULY,
        [
            "2020-08-03 00:00:00",
            "2020-09-01 00:00:00",
            "2020-10-01 00:00:00",
            "2020-11-02 00:00:00",
        ],
    ),
    (
        "on LastWeekday",
        JULY,
        [
            "2020-07-31 00:00:00",
            "2020-08-31 00:00:00",
            "2020-09-30 00:00:00",
            "2020-10-30 00:00:00",
        ],
    ),
    ("on FirstWeekday -1", JULY, ["2020-08-02 00:00:00", "2020-09-01 00:00:00"]),
    (
        "on ClosestWeekdayTo 1st",
        utc(2020, 7, 31),
        ["2020-08-03 00:00:00", "2020-09-01 00:00:00"],
    ),  # Aug 1st is a Saturday
    (
        "on ClosestWeekdayTo 31st",
        utc(2021, 1, 1),
        ["2021-01-29 00:00:00", "2021-03-31 00:00:00"],
    ),  # Jan 31st is a Sunday
    ("on 1stMon", JULY, ["2020-07-06 00:00:00", "2020-08-03 00:00:00"]),
    ("on FirstMonday", JULY, ["2020-07-06 00:00:00", "2020-08-03 00:00:00"]),
    ("on ThirdTue", JULY, ["2020-07-21 00:00:00", "2020-08-18 00:00:00"]),
    ("on 5thFriday", JULY, ["2020-07-31 00:00:00", "2020-10-30 00:00:00"]),
    ("on LastMon", JULY, ["2020-07-27 00:00:00", "2020-08-31 00:00:00"]),
    ("on ThirdFriday +1", JULY, ["2020-07-18 00:00:00", "2020-08-22 00:00:00"]),
    (
        "on FourthFriday +5",
        JULY,
        ["2020-07-29 00:00:00", "2020-08-31 00:00:00", "2020-09-30 00:00:00"],
    ),
    ("on 31st", JULY, ["2020-07-31 00:00:00", "2020-08-31 00:00:00", "2020-10-31 00:00:00"]),
    (
        "every 2 months AnchoredOn Aug on ClosestWeekdayTo 10",
        JULY,
        [
            "2020-08-10 00:00:00",
            "2020-10-09 00:00:00",
            "2020-12-10 00:00:00",
            "2021-02-10 00:00:00",
        ],
    ),
    # between / upto / from.
    (
        "every 5 seconds between sec 10 and 20",
        B2020,
        [
            "2020-01-01 00:00:10",
            "2020-01-01 00:00:15",
            "2020-01-01 00:00:20",
            "2020-01-01 00:01:10",
        ],
    ),
    (
        "every 25 minutes between hour 10 and 12",
        utc(2020, 1, 1, 12, 50),
        ["2020-01-01 12:55:00", "2020-01-02 10:00:00"],
    ),
    (
        "every 10 minutes between [10:10am and 10:30am, 11:00am and 11:30am]",
        utc(2020, 7, 1, 10, 25),
        ["2020-07-01 10:30:00", "2020-07-01 11:00:00"],
    ),
    (
        "every 30 minutes between 22:00 and 01:00",
        JULY,
        ["2020-07-01 00:30:00", "2020-07-01 01:00:00", "2020-07-01 22:00:00"],
    ),
    (
        "every 5 hours between day Last - 5 and Last - 1",
        utc(2020, 7, 30, 20),
        ["2020-08-26 00:00:00"],
    ),
    ("every day between 2nd and LastDay at 06:00", utc(2020, 7, 31, 7), ["2020-08-02 06:00:00"]),
    (
        "every day between fri and mon at 18:00",
        utc(2020, 7, 14),
        [
            "2020-07-17 18:00:00",
            "2020-07-18 18:00:00",
            "2020-07-19 18:00:00",
            "2020-07-20 18:00:00",
            "2020-07-24 18:00:00",
        ],
    ),
    (
        "every month between nov and feb on 1st",
        JULY,
        [
            "2020-11-01 00:00:00",
            "2020-12-01 00:00:00",
            "2021-01-01 00:00:00",
            "2021-02-01 00:00:00",
            "2021-11-01 00:00:00",
        ],
    ),
    (
        "every day between 2020-07-20 and 2020-07-22 at 08:00",
        JULY,
        ["2020-07-20 08:00:00", "2020-07-21 08:00:00", "2020-07-22 08:00:00"],
    ),
    ("every day upto 15th at 06:00", utc(2020, 7, 15, 7), ["2020-08-01 06:00:00"]),
    (
        "every hour from 22:00",
        JULY,
        ["2020-07-01 22:00:00", "2020-07-01 23:00:00", "2020-07-02 22:00:00"],
    ),
    ("every 25 minutes upto 00:30", JULY, ["2020-07-01 00:25:00", "2020-07-02 00:00:00"]),
    # Time zones.
    (
        "every day at 12:00am tz America/New_York",
        JULY,
        ["2020-07-01 04:00:00", "2020-07-02 04:00:00"],
    ),
    (
        "@every day @at 09:00 @timezone Asia/Tokyo",
        JULY,
        ["2020-07-02 00:00:00", "2020-07-03 00:00:00"],
    ),
]


@pytest.mark.parametrize(("expression", "after", "expected"), CASES, ids=[c[0] for c in CASES])
def test_examples(expression: str, after: object, expected: list[str]) -> None:
    assert stamps(NaturalExpression(expression), after, len(expected)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expression",
    [
        "in 2027",
        "on 2023-01-23 14:00",
        "at 2023-JAN",
        "@on 1st jan 2021 10:30pm",
        "at [2021-01-01 10:10, 2023-05-01 10:10:15]",
    ],
)
def test_expressions_with_years_end(expression: str) -> None:
    occurrences = NaturalExpression(expression).occurrences(utc(2020, 1, 1), 5)
    assert 1 <= len(occurrences) <= 2
    assert NaturalExpression(expression).next_after(occurrences[-1]) is None


def test_far_year_beyond_the_ten_year_horizon_is_found() -> None:
    assert stamps(NaturalExpression("on 2045-06-01 at 08:00"), utc(2026, 1, 1), 2) == [
        "2045-06-01 08:00:00"
    ]


def test_leap_day_only_in_leap_years() -> None:
    expression = NaturalExpression("every year on feb-29 at 12:00")
    assert stamps(expression, JULY, 3) == [
        "2024-02-29 12:00:00",
        "2028-02-29 12:00:00",
        "2032-02-29 12:00:00",
    ]
    assert stamps(NaturalExpression("on 29th in feb"), utc(2096, 3, 1), 1) == [
        "2104-02-29 00:00:00"
    ]


def test_last_day_handles_every_month_length() -> None:
    got = stamps(NaturalExpression("on LastDay at 12:00"), utc(2023, 1, 31, 13), 4)
    assert got == [
        "2023-02-28 12:00:00",
        "2023-03-31 12:00:00",
        "2023-04-30 12:00:00",
        "2023-05-31 12:00:00",
    ]
    assert stamps(NaturalExpression("on LastDay at 12:00"), utc(2024, 1, 31, 13), 1) == [
        "2024-02-29 12:00:00"
    ]


def test_never_firing_returns_none() -> None:
    assert NaturalExpression("on 30th in feb").next_after(B2020) is None
    assert NaturalExpression("on 31st in [apr, jun] at 10:00").next_after(B2020) is None


# DST in the expression's zone -------------------------------------------------


def test_paris_daily_at_0900_across_spring_forward_and_fall_back() -> None:
    expression = NaturalExpression("every day at 09:00 tz Europe/Paris")
    assert expression.tz == "Europe/Paris"
    assert stamps(expression, utc(2026, 3, 28), 3) == [
        "2026-03-28 08:00:00",
        "2026-03-29 07:00:00",
        "2026-03-30 07:00:00",
    ]
    assert stamps(expression, utc(2026, 10, 24), 3) == [
        "2026-10-24 07:00:00",
        "2026-10-25 08:00:00",
        "2026-10-26 08:00:00",
    ]


def test_paris_gap_runs_at_the_next_valid_instant() -> None:
    expression = NaturalExpression("every day at 02:30 tz Europe/Paris")
    assert walls(expression, utc(2026, 3, 28, 12), 2, "Europe/Paris") == [
        "2026-03-29 03:00:00+02:00",
        "2026-03-30 02:30:00+02:00",
    ]


def test_paris_overlap_runs_once_at_first_occurrence() -> None:
    expression = NaturalExpression("every day at 02:30 tz Europe/Paris")
    assert walls(expression, utc(2026, 10, 24, 12), 2, "Europe/Paris") == [
        "2026-10-25 02:30:00+02:00",
        "2026-10-26 02:30:00+01:00",
    ]


def test_paris_every_25_minutes_through_the_gap() -> None:
    expression = NaturalExpression("every 25 minutes", "Europe/Paris")
    assert walls(expression, utc(2026, 3, 29, 0, 30), 4, "Europe/Paris") == [
        "2026-03-29 01:40:00+01:00",
        "2026-03-29 03:00:00+02:00",  # 02:05, 02:30 and 02:55 do not exist: one run at 03:00
        "2026-03-29 03:20:00+02:00",
        "2026-03-29 03:45:00+02:00",
    ]


def test_new_york_spring_forward_and_fall_back() -> None:
    expression = NaturalExpression("every 30 minutes between 01:00 and 03:30 tz America/New_York")
    assert walls(expression, utc(2026, 3, 8, 5), 4, "America/New_York") == [
        "2026-03-08 01:00:00-05:00",
        "2026-03-08 01:30:00-05:00",
        "2026-03-08 03:00:00-04:00",
        "2026-03-08 03:30:00-04:00",
    ]
    assert walls(expression, utc(2026, 11, 1, 4), 6, "America/New_York") == [
        "2026-11-01 01:00:00-04:00",
        "2026-11-01 01:30:00-04:00",
        "2026-11-01 02:00:00-05:00",  # 01:00 and 01:30 EST (second pass) do not run again
        "2026-11-01 02:30:00-05:00",
        "2026-11-01 03:00:00-05:00",
        "2026-11-01 03:30:00-05:00",
    ]


def test_after_in_second_pass_of_new_york_overlap() -> None:
    expression = NaturalExpression("every 15 minutes tz America/New_York")
    # 06:20 UTC is 01:20 EST (second pass): 01:30/01:45 already ran during the first pass.
    assert stamps(expression, utc(2026, 11, 1, 6, 20), 2) == [
        "2026-11-01 07:00:00",
        "2026-11-01 07:15:00",
    ]


def test_every_hour_keeps_wall_clock_hours() -> None:
    expression = NaturalExpression("every 2 hours tz Europe/Paris")
    assert walls(expression, utc(2026, 10, 24, 21), 4, "Europe/Paris") == [
        "2026-10-25 00:00:00+02:00",
        "2026-10-25 02:00:00+02:00",
        "2026-10-25 04:00:00+01:00",
        "2026-10-25 06:00:00+01:00",
    ]


def test_sub_second_after_is_truncated() -> None:
    expression = NaturalExpression("secondly")
    assert stamps(expression, utc(2020, 1, 1, 0, 0, 0, 999_999), 1) == ["2020-01-01 00:00:01"]


def test_default_tz_and_explicit_tz() -> None:
    assert NaturalExpression("daily", "Asia/Tokyo").tz == "Asia/Tokyo"
    assert NaturalExpression("daily tz Europe/Paris", "Asia/Tokyo").tz == "Europe/Paris"
    assert NaturalExpression("  every   day  at 09:00 ").text == "every day at 09:00"
