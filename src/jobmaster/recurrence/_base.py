"""The contract every recurrence expression implements."""

from __future__ import annotations

import abc
from datetime import UTC, datetime

__all__ = ["RecurrenceExpression", "require_aware"]


def require_aware(value: datetime, name: str = "after") -> datetime:
    """Return ``value`` unchanged; raise ``ValueError`` when it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value


class RecurrenceExpression(abc.ABC):
    """A rule that yields the instants at which a recurring schedule fires.

    Attributes:
        kind: ``"interval"``, ``"cron"`` or ``"natural"``; the first item of ``to_storage()``.
        text: canonical text of the expression (round-trips through storage).
        tz: IANA zone the expression is evaluated in (``"UTC"`` for intervals).
    """

    kind: str
    text: str
    tz: str

    @abc.abstractmethod
    def next_after(self, after: datetime) -> datetime | None:
        """Return the first occurrence strictly later than ``after``.

        Args:
            after: a timezone-aware instant.  Cron and natural expressions first truncate
                it to whole seconds; intervals use it exactly.

        Returns:
            An aware UTC datetime (``tzinfo=UTC``), or ``None`` when the expression can
            never fire again (or does not fire within the search horizon of ~10 years).

        Raises:
            ValueError: ``after`` is naive.
        """

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        """Return up to ``count`` successive occurrences strictly later than ``after``."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        found: list[datetime] = []
        cursor = require_aware(after)
        while len(found) < count:
            following = self.next_after(cursor)
            if following is None:
                break
            found.append(following)
            cursor = following
        return found

    def to_storage(self) -> tuple[str, str, str]:
        """Return ``(kind, text, tz)``; ``expression_from_storage`` rebuilds an equal expression."""
        return (self.kind, self.text, self.tz)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecurrenceExpression):
            return NotImplemented
        return self.to_storage() == other.to_storage()

    def __hash__(self) -> int:
        return hash(self.to_storage())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, tz={self.tz!r})"


def truncate_to_second(after: datetime) -> datetime:
    """Return ``after`` (aware) as a UTC datetime without microseconds."""
    return require_aware(after).astimezone(UTC).replace(microsecond=0)
