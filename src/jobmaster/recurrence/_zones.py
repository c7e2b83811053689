"""Time-zone helpers: loading IANA zones and mapping wall-clock times to instants.

The DST rules of the whole library live here:

* a wall-clock time inside a DST gap (it does not exist) runs at the first valid
  instant after the gap, i.e. at the transition itself (02:30 on the Paris
  spring-forward day runs at 03:00 local time);
* a wall-clock time inside a DST overlap (it exists twice) runs once, at its first
  occurrence (``fold=0``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["load_zone", "search_start", "wall_to_instant"]

_SECOND = timedelta(seconds=1)


@lru_cache(maxsize=256)
def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; raise ``ValueError`` when it is unknown."""
    if not name or name != name.strip() or "\\" in name:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _offset_at(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _first_instant_with_offset(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """Smallest whole-second instant in ``(low, high]`` whose offset equals that of ``high``.

    ``low`` must have a different offset; the transition is found by bisection.
    """
    target = _offset_at(high, zone)
    while high - low > _SECOND:
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + _SECOND
        if _offset_at(middle, zone) == target:
            high = middle
        else:
            low = middle
    return high


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Convert a naive wall-clock time in ``zone`` to an aware UTC instant.

    Gap times map to the transition instant; overlap times map to ``fold=0``.
    """
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap: fold=0 used the offset before the transition, so the instant lies
    # after the transition; the transition lies within one gap length before it.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(before, instant), max(before, instant)
    return _first_instant_with_offset(low - _SECOND, high, zone)


def search_start(after: datetime, zone: ZoneInfo) -> datetime:
    """First naive wall-clock time (whole seconds) whose occurrence may follow ``after``.

    ``after`` is an aware instant.  Normally this is its wall time plus one second; when
    ``after`` lies in the second pass of a DST overlap (``fold=1``), every wall time up
    to the end of the overlap already ran during the first pass, so the search starts
    at the end of the overlap.
    """
    local = after.astimezone(zone).replace(microsecond=0)
    wall = local.replace(tzinfo=None)
    if local.fold == 1:
        first_pass = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if first_pass != local.astimezone(UTC):
            current = local.astimezone(UTC)
            transition = _first_instant_with_offset(first_pass, current, zone)
            overlap_end = (transition + _offset_at(first_pass, zone)).replace(tzinfo=None)
            return max(wall + _SECOND, overlap_end)
    return wall + _SECOND
