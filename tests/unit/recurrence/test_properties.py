"""Property tests: cron and a family of natural expressions against brute-force scans."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobmaster.recurrence import Cron, NaturalExpression

from .reference import brute_next_daily, brute_next_minutely

# DST transitions (both directions) per zone, plus a leap day and a year end for all.
TRANSITIONS = {
    "UTC": [],
    "Europe/Paris": [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ],
    "America/New_York": [
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    ],
    # Lord Howe shifts by 30 minutes only.
    "Australia/Lord_Howe": [
        datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    ],
}
OTHER_PIVOTS = [datetime(2028, 2, 28, 12, 0, tzinfo=UTC), datetime(2027, 12, 31, 12, 0, tzinfo=UTC)]
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def zones_and_afters(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and an instant, mostly within hours of one of its DST transitions."""
    zone = draw(st.sampled_from(sorted(TRANSITIONS)))
    near_transition = TRANSITIONS[zone] and draw(st.integers(0, 3)) > 0
    if near_transition:
        pivot = draw(st.sampled_from(TRANSITIONS[zone]))
        shift = draw(st.integers(min_value=-2 * 3600, max_value=3600))
    else:
        pivot = draw(st.sampled_from(OTHER_PIVOTS + TRANSITIONS[zone]))
        shift = draw(st.integers(min_value=-2 * 86400, max_value=86400))
    return zone, pivot + timedelta(seconds=shift)


@dataclass(frozen=True)
class Field:
    text: str
    values: frozenset[int]


def _field(
    low: int, high: int, names: tuple[str, ...] = (), base: int = 0
) -> st.SearchStrategy[Field]:
    def name_or_number(value: int, use_name: bool) -> str:
        return (
            names[value - base] if use_name and names and value - base < len(names) else str(value)
        )

    star = st.just(Field("*", frozenset(range(low, high + 1))))
    step = st.integers(1, max(1, (high - low) // 2)).map(
        lambda k: Field(f"*/{k}", frozenset(range(low, high + 1, k)))
    )
    single = st.builds(
        lambda v, n: Field(name_or_number(v, n), frozenset({v})),
        st.integers(low, high),
        st.booleans(),
    )

    def make_range(a: int, b: int, k: int) -> Field:
        a, b = min(a, b), max(a, b)
        suffix = f"/{k}" if k > 1 else ""
        return Field(f"{a}-{b}{suffix}", frozenset(range(a, b + 1, k)))

    ranged = st.builds(
        make_range, st.integers(low, high), st.integers(low, high), st.integers(1, 3)
    )
    listed = st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True).map(
        lambda vs: Field(",".join(map(str, vs)), frozenset(vs))
    )
    return st.one_of(star, star, step, single, ranged, listed)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@st.composite
def crons(draw: st.DrawFn) -> tuple[str, list[Field]]:
    minute = draw(_field(0, 59))
    hour = draw(st.one_of(st.just(Field("*", frozenset(range(24)))), _field(0, 23)))
    dom = draw(st.one_of(st.just(Field("*", frozenset(range(1, 32)))), _field(1, 31)))
    month = draw(st.one_of(st.just(Field("*", frozenset(range(1, 13)))), _field(1, 12, MONTHS, 1)))
    dow = draw(_field(0, 7, WEEKDAYS, 0))
    fields = [minute, hour, dom, month, dow]
    return " ".join(f.text for f in fields), fields


def _cron_predicate(fields: list[Field]) -> object:
    minute, hour, dom, month, dow = fields
    weekdays = {0 if v == 7 else v for v in dow.values}
    both = not dom.text.startswith("*") and not dow.text.startswith("*")

    def matches(wall: datetime) -> bool:
        if wall.minute not in minute.values or wall.hour not in hour.values:
            return False
        if wall.month not in month.values:
            return False
        day_ok = wall.day in dom.values
        weekday_ok = (wall.weekday() + 1) % 7 in weekdays
        return (day_ok or weekday_ok) if both else (day_ok and weekday_ok)

    return matches


@SETTINGS
@given(crons(), zones_and_afters())
def test_cron_matches_minute_by_minute_scan(
    cron: tuple[str, list[Field]], zone_after: tuple[str, datetime]
) -> None:
    text, fields = cron
    zone, after = zone_after
    window = timedelta(days=2)
    expected = brute_next_minutely(_cron_predicate(fields), ZoneInfo(zone), after, window)  # type: ignore[arg-type]
    actual = Cron(text, zone).next_after(after)
    if expected is None:
        assert actual is None or actual > after + window
    else:
        assert actual == expected, (text, zone, after)


Window = tuple[tuple[int, int], tuple[int, int]]


def sub_daily_case(
    count: int,
    unit: str,
    window: Window | None = None,
    weekdays: set[int] | None = None,
    months: set[int] | None = None,
) -> tuple[str, object]:
    """Text of ``every N minutes|hours [between] [on] [in]`` and its plain predicate."""
    parts = [f"every {count} {unit}"]
    if window is not None:
        (h1, m1), (h2, m2) = window
        parts.append(f"between {h1:02d}:{m1:02d} and {h2:02d}:{m2:02d}")
    if weekdays:
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        parts.append("on [" + ", ".join(names[d] for d in sorted(weekdays)) + "]")
    if months:
        parts.append("in [" + ", ".join(MONTHS[m - 1] for m in sorted(months)) + "]")

    def matches(wall: datetime) -> bool:
        if unit == "minutes" and (wall.hour * 60 + wall.minute) % count:
            return False
        if unit == "hours" and (wall.hour % count or wall.minute):
            return False
        if window is not None:
            moment, (low, high) = (wall.hour, wall.minute), window
            inside = low <= moment <= high if low <= high else (moment >= low or moment <= high)
            if not inside:
                return False
        if weekdays and wall.weekday() not in weekdays:
            return False
        return not months or wall.month in months

    return " ".join(parts), matches


@st.composite
def natural_sub_daily(draw: st.DrawFn) -> tuple[str, object]:
    """``every N minutes|hours [between A and B] [on [weekdays]] [in [months]]``."""
    unit = draw(st.sampled_from(["minutes", "hours"]))
    counts = [1, 2, 3, 5, 7, 15, 25, 45] if unit == "minutes" else [1, 2, 3, 5, 7]
    count = draw(st.sampled_from(counts))
    window = None
    if draw(st.booleans()):
        low = (draw(st.integers(0, 23)), draw(st.sampled_from([0, 10, 30, 45])))
        high = (draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 59])))
        window = (low, high)
    weekdays = months = None
    if draw(st.integers(0, 3)) == 0:
        weekdays = draw(st.sets(st.integers(0, 6), min_size=1, max_size=6))
    if draw(st.integers(0, 3)) == 0:
        months = draw(st.sets(st.integers(1, 12), min_size=3, max_size=11))
    return sub_daily_case(count, unit, window, weekdays, months)


@SETTINGS
@given(natural_sub_daily(), zones_and_afters())
@example(sub_daily_case(25, "minutes"), ("Europe/Paris", datetime(2026, 3, 29, 0, 45, tzinfo=UTC)))
@example(
    sub_daily_case(25, "minutes"), ("America/New_York", datetime(2026, 3, 8, 6, 45, tzinfo=UTC))
)
@example(sub_daily_case(7, "minutes"), ("Europe/Paris", datetime(2026, 10, 25, 1, 20, tzinfo=UTC)))
@example(
    sub_daily_case(45, "minutes"), ("America/New_York", datetime(2026, 11, 1, 5, 50, tzinfo=UTC))
)
def test_natural_sub_daily_matches_scan(
    case: tuple[str, object], zone_after: tuple[str, datetime]
) -> None:
    text, matches = case
    zone, after = zone_after
    window = timedelta(days=2)
    expected = brute_next_minutely(matches, ZoneInfo(zone), after, window)  # type: ignore[arg-type]
    actual = NaturalExpression(text, zone).next_after(after)
    if expected is None:
        assert actual is None or actual > after + window
    else:
        assert actual == expected, (text, zone, after)


def _day_rule(kind: str, number: int, weekday: int) -> tuple[str, object]:
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    ordinals = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}

    def last(wall: datetime) -> int:
        return calendar.monthrange(wall.year, wall.month)[1]

    def weekdays_of(wall: datetime) -> list[int]:
        return [d for d in range(1, last(wall) + 1) if wall.replace(day=d).weekday() < 5]

    def closest(wall: datetime) -> int | None:
        if number > last(wall):
            return None
        candidates = weekdays_of(wall)
        return min(candidates, key=lambda d: (abs(d - number), d > number if number > 1 else d))

    rules = {
        "day": (f"{ordinals.get(number, f'{number}th')}", lambda w: w.day == number),
        "last_minus": (f"LastDay - {number}", lambda w: w.day == max(1, last(w) - number)),
        "first_plus": (f"FirstDay + {number}", lambda w: w.day == min(1 + number, last(w))),
        "nth": (
            f"{ordinals[min(number, 5) or 1]}{names[weekday]}",
            lambda w: w.weekday() == weekday and (w.day - 1) // 7 + 1 == (min(number, 5) or 1),
        ),
        "last_weekday_of": (
            f"Last{names[weekday]}",
            lambda w: w.weekday() == weekday and w.day + 7 > last(w),
        ),
        "first_weekday": ("FirstWeekday", lambda w: w.day == weekdays_of(w)[0]),
        "last_weekday": ("LastWeekday", lambda w: w.day == weekdays_of(w)[-1]),
        "closest": (f"ClosestWeekdayTo {number}", lambda w: w.day == closest(w)),
    }
    return rules[kind]


@st.composite
def natural_monthly(draw: st.DrawFn) -> tuple[str, object, list[tuple[int, int]]]:
    kind = draw(
        st.sampled_from(
            [
                "day",
                "last_minus",
                "first_plus",
                "nth",
                "last_weekday_of",
                "first_weekday",
                "last_weekday",
                "closest",
            ]
        )
    )
    number = draw(st.integers(1, 31) if kind in ("day", "closest") else st.integers(0, 5))
    text, day_ok = _day_rule(kind, number, draw(st.integers(0, 6)))
    times = draw(
        st.lists(
            st.tuples(st.sampled_from([0, 1, 2, 3, 12, 23]), st.sampled_from([0, 30, 59])),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    months = draw(st.one_of(st.none(), st.sets(st.integers(1, 12), min_size=2, max_size=6)))
    expression = (
        f"every month on {text} at [" + ", ".join(f"{h:02d}:{m:02d}" for h, m in times) + "]"
    )
    if months:
        expression += " in [" + ", ".join(MONTHS[m - 1] for m in sorted(months)) + "]"

    def matches(wall: datetime) -> bool:
        return (not months or wall.month in months) and bool(day_ok(wall))  # type: ignore[operator]

    return expression, matches, times


@SETTINGS
@given(natural_monthly(), zones_and_afters())
def test_natural_monthly_matches_day_scan(
    case: tuple[str, object, list[tuple[int, int]]], zone_after: tuple[str, datetime]
) -> None:
    text, day_matches, times = case
    zone, after = zone_after
    expected = brute_next_daily(day_matches, times, ZoneInfo(zone), after, days=3 * 366)  # type: ignore[arg-type]
    actual = NaturalExpression(text, zone).next_after(after)
    assert actual == expected, (text, zone, after)
