"""Small helpers shared by the example tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from jobmaster.recurrence import RecurrenceExpression


def utc(*fields: int) -> datetime:
    """``utc(2026, 3, 29, 1)`` -> an aware UTC datetime."""
    return datetime(*fields, tzinfo=UTC)  # type: ignore[arg-type,misc]


def local(zone: str, *fields: int, fold: int = 0) -> datetime:
    """An aware datetime in ``zone`` (``fold`` picks the pass of an ambiguous time)."""
    return datetime(*fields, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[arg-type,misc]


def walls(expression: RecurrenceExpression, after: datetime, count: int, zone: str) -> list[str]:
    """Occurrences as local ``YYYY-MM-DD HH:MM:SS+ZZ:ZZ`` strings, for readable asserts."""
    return [
        o.astimezone(ZoneInfo(zone)).isoformat(sep=" ")
        for o in expression.occurrences(after, count)
    ]


def stamps(expression: RecurrenceExpression, after: datetime, count: int) -> list[str]:
    """Occurrences as UTC ``YYYY-MM-DD HH:MM:SS`` strings."""
    return [o.strftime("%Y-%m-%d %H:%M:%S") for o in expression.occurrences(after, count)]
