"""Bad natural expressions raise ValueError saying where and what was expected."""

from __future__ import annotations

import re

import pytest

from jobmaster.recurrence import NaturalExpression, parse_expression

ERRORS = [
    ("every 0 minutes", "every: the count must be a positive integer, got 0 (at position 6)"),
    ("every -2 minutes", "every: the count must be a positive integer, got -2 (at position 6)"),
    (
        "every 5 fortnights",
        "every: expected a unit (second, minute, hour, day, week, month, year) or a weekday, got 'fortnights' (at position 8)",
    ),
    (
        "every 5",
        "every: expected a unit (second, minute, hour, day, week, month, year) or a weekday but the expression ended (at position 7)",
    ),
    (
        "every day every hour",
        "every: only one every rule is allowed (first at position 0) (at position 10)",
    ),
    (
        "daily hourly",
        "hourly: only one every rule is allowed (first at position 0) (at position 6)",
    ),
    ("at 25:00", "at: hour 25 is out of range 0-23 (at position 3)"),
    ("at 13pm", "at: hour 13 is out of range 1-12 (at position 3)"),
    ("at 10:75", "at: minute 75 is out of range 0-59 (at position 3)"),
    ("at 10:00:61", "at: second 61 is out of range 0-59 (at position 3)"),
    ("on day 32", "on: day 32 is out of range 1-31 (at position 7)"),
    ("in month 13", "in: month 13 is out of range 1-12 (at position 9)"),
    (
        "on 6thFriday",
        "on: '6thFriday' is not a day like 10th or 2ndFriday (1st..5th) (at position 3)",
    ),
    ("on feb-30", "on: day 30 is out of range 1-29 (at position 3)"),
    ("on 2023-02-29", "on: day 29 is out of range 1-28 (at position 3)"),
    ("on [mon, funday]", "on: unknown name 'funday', expected a weekday"),
    (
        "in [jan, juneuary]",
        "in: unknown name 'juneuary', expected a weekday (monday..sunday or mon..sun), a month (january..december or jan..dec)",
    ),
    (
        "on [mon, tue",
        "on: expected ',' or ']' in the list but the expression ended (at position 12)",
    ),
    (
        "at 10:00 at 11:00",
        "at: the hour is already set by the at rule at position 0 (at position 9)",
    ),
    (
        "on fri on [sat, sun]",
        "on: the weekday is already set by the on rule at position 0 (at position 7)",
    ),
    (
        "in jan on 1st in feb",
        "in: the month is already set by the in rule at position 0 (at position 14)",
    ),
    ("between 09:00 and 10:00", "between: needs an every rule"),
    ("at 09:00 upto 10:00", "upto: needs an every rule"),
    (
        "every 5 minutes between 09:00",
        "between: expected 'and' between the two bounds but the expression ended",
    ),
    (
        "every 5 minutes between 09:00 or 10:00",
        "between: unknown name 'or', expected a weekday",
    ),
    (
        "every 5 minutes between 09:00 and mon",
        "between: both bounds must be of the same kind, got time and weekday (at position 34)",
    ),
    (
        "every day between 2025 and 2024 at 10:00",
        "between: the first bound is after the second one (at position 18)",
    ),
    (
        "every day between 09:00 and 17:00",
        "between: never matches: with 'every day' and no at rule the hour/minute/second default to 0",
    ),
    ("every day at 09:00 tz Mars/Olympus", "tz: unknown time zone 'Mars/Olympus' (at position 22)"),
    (
        "every day tz",
        "tz: expected an IANA time zone like Europe/Paris but the expression ended (at position 12)",
    ),
    ("daily tz UTC tz Europe/Paris", "tz: the time zone is given twice (at position 13)"),
    (
        "every 2 months AnchoredOn Funuary",
        "every: expected a month like Nov or 11 to anchor every month, got 'Funuary' (at position 26)",
    ),
    (
        "every 2 days AnchoredOn mon",
        "every: expected a date like 2024-01-15 to anchor every day, got 'mon' (at position 24)",
    ),
    (
        "sometimes at 10:00",
        "expression: expected a rule keyword (every, at, on, in, between, upto, from, tz or a shortcut like daily), got 'sometimes' (at position 0)",
    ),
    ("every day at 09:00 ; rm", "unexpected character ';' (at position 19)"),
    ("", "expression: expected at least one every, at, on or in rule (at position 0)"),
    (
        "tz Europe/Paris",
        "expression: expected at least one every, at, on or in rule (at position 0)",
    ),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_error_messages(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        NaturalExpression(expression)


def test_parse_expression_reports_the_same_errors() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape("every: the count must be a positive integer, got 0 (at position 6)"),
    ):
        parse_expression("every 0 minutes")
    with pytest.raises(ValueError, match=re.escape("unknown time zone 'Mars/Olympus'")):
        parse_expression("daily", default_tz="Mars/Olympus")


@pytest.mark.parametrize(
    "expression",
    ["every day", "EVERY DAY AT 9AM", "@Every Day @At 9:00Am", "On MONDAY", "in JANUARY"],
)
def test_keywords_and_names_are_case_insensitive(expression: str) -> None:
    NaturalExpression(expression)
