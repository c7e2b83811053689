"""Time-of-day search of compiled natural rules: the first matching second of a day.

The search descends hour -> minute -> second and prunes with per-level tests, so a day
costs at most a few hundred cheap checks (never 86,400).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._model import Every, Range, Value

__all__ = ["TIME_RANGE_KINDS", "TimePart", "TimeRules"]

TIME_RANGE_KINDS = frozenset({"time", "hour", "minute", "second"})
#: ``(hour, minute, second)`` of one value, ``None`` meaning any.
TimePart = tuple[int | None, int | None, int | None]
_DAY = 86400


def _seconds(value: Value) -> int:
    return (value.hour or 0) * 3600 + (value.minute or 0) * 60 + (value.second or 0)


def _intervals(ranges: Iterable[Range]) -> list[tuple[int, int]]:
    """Seconds-of-day intervals (inclusive) of ``time``/``hour`` ranges; wraps split in two."""
    result = []
    for bounds in ranges:
        extra = 3599 if bounds.kind == "hour" else 0
        low = 0 if bounds.low is None else _seconds(bounds.low)
        high = _DAY - 1 if bounds.high is None else _seconds(bounds.high) + extra
        result.extend([(low, high)] if low <= high else [(low, _DAY - 1), (0, high)])
    return result


def _values(ranges: Iterable[Range], name: str) -> frozenset[int]:
    """Allowed minute or second values of ``minute``/``second`` ranges (wrapping)."""
    allowed: set[int] = set()
    for bounds in ranges:
        low = 0 if bounds.low is None else getattr(bounds.low, name)
        high = 59 if bounds.high is None else getattr(bounds.high, name)
        allowed |= (
            set(range(low, high + 1)) if low <= high else set(range(low, 60)) | set(range(high + 1))
        )
    return frozenset(allowed)


class TimeRules:
    """Grid of ``every N seconds|minutes|hours`` plus time ranges."""

    def __init__(self, every: Every | None, range_rules: Iterable[tuple[Range, ...]]) -> None:
        self.grid = every if every and every.unit in ("second", "minute", "hour") else None
        self.intervals: list[list[tuple[int, int]]] = []
        self.minutes: list[frozenset[int]] = []
        self.seconds: list[frozenset[int]] = []
        for ranges in range_rules:
            kind = ranges[0].kind
            if kind in ("time", "hour"):
                self.intervals.append(_intervals(ranges))
            elif kind == "minute":
                self.minutes.append(_values(ranges, "minute"))
            elif kind == "second":
                self.seconds.append(_values(ranges, "second"))

    def _grid_ok(self, start: int, span: int) -> bool:
        """Whether ``[start, start + span)`` touches a unit of the every grid.

        ``every 15 minutes`` keeps the minutes whose minute-of-day is a multiple of 15
        (shifted by ``AnchoredOn``); finer fields are constrained elsewhere.
        """
        grid = self.grid
        if grid is None or grid.count == 1:
            return True
        size = {"second": 1, "minute": 60, "hour": 3600}[grid.unit]
        first = start // size
        width = (start + span - 1) // size - first + 1
        return (grid.anchor - first) % grid.count < width

    def _ranges_ok(self, start: int, span: int) -> bool:
        end = start + span - 1
        return all(
            any(low <= end and high >= start for low, high in rule) for rule in self.intervals
        )

    def first(self, parts: tuple[tuple[TimePart, ...], ...], start: int) -> int | None:
        """First second ``>= start`` of a day matching the rules and one part per tuple."""
        hour0, minute0, second0 = start // 3600, start // 60 % 60, start % 60
        for hour in range(hour0, 24):
            base = hour * 3600
            if not (self._ranges_ok(base, 3600) and self._grid_ok(base, 3600)):
                continue
            hour_parts = [[p for p in group if p[0] in (None, hour)] for group in parts]
            if not all(hour_parts):
                continue
            found = self._first_in_hour(
                hour, hour_parts, minute0 if hour == hour0 else 0, second0 if hour == hour0 else 0
            )
            if found is not None:
                return found
        return None

    def _first_in_hour(
        self, hour: int, parts: list[list[TimePart]], minute0: int, second0: int
    ) -> int | None:
        for minute in range(minute0, 60):
            base = hour * 3600 + minute * 60
            if not all(minute in allowed for allowed in self.minutes):
                continue
            if not (self._ranges_ok(base, 60) and self._grid_ok(base, 60)):
                continue
            minute_parts = [[p for p in group if p[1] in (None, minute)] for group in parts]
            if not all(minute_parts):
                continue
            for second in range(second0 if minute == minute0 else 0, 60):
                if self._second_ok(base + second, second, minute_parts):
                    return base + second
        return None

    def _second_ok(self, moment: int, second: int, parts: list[list[TimePart]]) -> bool:
        if not all(second in allowed for allowed in self.seconds):
            return False
        if not (self._ranges_ok(moment, 1) and self._grid_ok(moment, 1)):
            return False
        return all(any(p[2] in (None, second) for p in group) for group in parts)
