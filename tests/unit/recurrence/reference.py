"""Brute-force reference evaluators used by the property tests.

They share no code with the implementation: they walk forward minute by minute (or
day by day) and test plain field membership, with DST handled through the definition
"a wall-clock time w runs at the first instant whose wall-clock reading is >= w".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)
WallPredicate = Callable[[datetime], bool]


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _is_second_pass(instant: datetime, zone: ZoneInfo) -> bool:
    """True for an instant in the repeated hour of a DST overlap."""
    local = instant.astimezone(zone)
    if local.fold == 0:
        return False
    first = local.replace(fold=0).astimezone(UTC)
    return first != instant


def brute_next_minutely(
    matches: WallPredicate, zone: ZoneInfo, after: datetime, window: timedelta
) -> datetime | None:
    """First minute-aligned instant > ``after`` (within ``window``) at which a match fires.

    An instant fires when its wall time matches (skipping the second pass of an overlap)
    or when it ends a DST gap that contains a matching wall time.
    """
    start = after.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
    instant = start
    while instant <= after + window:
        wall = _wall(instant, zone)
        previous = _wall(instant - MINUTE, zone)
        if not _is_second_pass(instant, zone):
            if matches(wall):
                return instant
            skipped = previous + MINUTE
            while skipped < wall:  # wall times of a DST gap that never appear
                if matches(skipped):
                    return instant
                skipped += MINUTE
        instant += MINUTE
    return None


def reference_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first minute-aligned instant whose wall-clock reading is >= ``wall``."""
    guess = min(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    instant = guess - timedelta(hours=3)
    assert _wall(instant, zone) < wall
    while _wall(instant, zone) < wall:
        instant += MINUTE
    return instant


def brute_next_daily(
    day_matches: Callable[[datetime], bool],
    times: list[tuple[int, int]],
    zone: ZoneInfo,
    after: datetime,
    days: int,
) -> datetime | None:
    """Walk local dates; on matching dates try each ``(hour, minute)`` in order."""
    local_day = _wall(after, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    local_day -= timedelta(days=1)
    for _ in range(days):
        if day_matches(local_day):
            for hour, minute in sorted(times):
                instant = reference_instant(local_day.replace(hour=hour, minute=minute), zone)
                if instant > after:
                    return instant
        local_day += timedelta(days=1)
    return None
