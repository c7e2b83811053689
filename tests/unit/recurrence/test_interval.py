"""Interval expressions: pure elapsed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from jobmaster.recurrence import Interval, expression_from_storage
from jobmaster.recurrence.interval import format_interval, parse_interval_text

from .helpers import local, stamps, utc


def test_grid_from_the_epoch_by_default() -> None:
    every = Interval(timedelta(seconds=30))
    assert stamps(every, utc(2026, 1, 1, 0, 0, 10), 3) == [
        "2026-01-01 00:00:30",
        "2026-01-01 00:01:00",
        "2026-01-01 00:01:30",
    ]
    # strictly later: an instant on the grid is not returned
    assert every.next_after(utc(2026, 1, 1, 0, 0, 30)) == utc(2026, 1, 1, 0, 1)


def test_anchor_is_the_first_occurrence() -> None:
    anchor = utc(2026, 1, 1, 12, 0, 7)
    every = Interval(timedelta(hours=1), anchor=anchor)
    assert every.next_after(utc(2025, 1, 1)) == anchor
    assert stamps(every, anchor, 2) == ["2026-01-01 13:00:07", "2026-01-01 14:00:07"]
    assert every.next_after(utc(2026, 1, 1, 13, 30)) == utc(2026, 1, 1, 14, 0, 7)


def test_anchor_in_another_zone_is_normalised_to_utc() -> None:
    every = Interval(
        timedelta(days=1), anchor=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    )
    assert every.anchor == utc(2026, 1, 1, 7)


def test_dst_does_not_matter() -> None:
    every = Interval(timedelta(hours=1))
    before_gap = local("Europe/Paris", 2026, 3, 29, 1, 30)
    assert [o - before_gap for o in every.occurrences(before_gap, 3)] == [
        timedelta(minutes=30),
        timedelta(minutes=90),
        timedelta(minutes=150),
    ]
    day = Interval(timedelta(days=1))
    results = day.occurrences(utc(2026, 10, 24), 3)
    assert [b - a for a, b in pairwise(results)] == [timedelta(days=1)] * 2


def test_results_are_utc() -> None:
    result = Interval(timedelta(minutes=5)).next_after(local("America/New_York", 2026, 1, 1))
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    "every", [timedelta(0), timedelta(milliseconds=999), timedelta(seconds=-5)]
)
def test_under_one_second_is_rejected(every: timedelta) -> None:
    with pytest.raises(ValueError, match="interval must be at least 1 second, got"):
        Interval(every)


def test_naive_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
        Interval(timedelta(seconds=1)).next_after(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="anchor must be a timezone-aware datetime"):
        Interval(timedelta(seconds=1), anchor=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("every", "text"),
    [
        (timedelta(seconds=30), "0:00:30"),
        (timedelta(hours=25, minutes=1), "1.1:01:00"),
        (timedelta(seconds=1, milliseconds=500), "0:00:01.5"),
        (timedelta(days=400), "400.0:00:00"),
    ],
)
def test_text_round_trips(every: timedelta, text: str) -> None:
    assert format_interval(every) == text
    assert parse_interval_text(text) == every
    expression = Interval(every)
    assert expression.to_storage() == ("interval", text, "UTC")
    assert expression_from_storage(*expression.to_storage()) == expression


def test_storage_keeps_the_anchor() -> None:
    expression = Interval(timedelta(minutes=10), anchor=utc(2026, 5, 1, 8, 3))
    kind, text, tz = expression.to_storage()
    assert text == "0:10:00 anchor 2026-05-01T08:03:00+00:00"
    rebuilt = expression_from_storage(kind, text, tz)
    assert isinstance(rebuilt, Interval) and rebuilt.anchor == utc(2026, 5, 1, 8, 3)


@pytest.mark.parametrize(
    ("text", "every"),
    [
        ("PT30S", timedelta(seconds=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("P2W", timedelta(weeks=2)),
        ("01:00:00", timedelta(hours=1)),
        (
            "1.02:03:04.1234567",
            timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=123456),
        ),
    ],
)
def test_parse_other_texts(text: str, every: timedelta) -> None:
    assert parse_interval_text(text) == every


@pytest.mark.parametrize("text", ["30s", "P", "PT", "1:60:00", "every 5 minutes", "P1DT"])
def test_bad_texts(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval_text(text)
