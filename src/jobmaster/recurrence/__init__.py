"""Recurrence expressions: when does a recurring schedule fire next?

Three kinds share one contract, :class:`RecurrenceExpression`:

* :class:`Interval` - fixed elapsed time (``timedelta``), independent of zones;
* :class:`Cron` - classic 5/6-field cron, evaluated in an IANA zone;
* :class:`NaturalExpression` - NaturalCron text such as ``every day at 09:00 tz Europe/Paris``.

``parse_expression`` picks the kind from a user value; ``expression_from_storage``
rebuilds an expression from ``to_storage()``.  Syntax and DST rules: ``docs/expressions.md``.
"""

from __future__ import annotations

from datetime import timedelta

from ._base import RecurrenceExpression
from ._cron_fields import looks_like_cron
from ._zones import load_zone
from .cron import Cron
from .interval import Interval
from .natural import NaturalExpression

__all__ = [
    "Cron",
    "Interval",
    "NaturalExpression",
    "RecurrenceExpression",
    "expression_from_storage",
    "parse_expression",
]


def parse_expression(
    value: timedelta | str | RecurrenceExpression, *, default_tz: str = "UTC"
) -> RecurrenceExpression:
    """Build an expression from a user value.

    * ``timedelta`` -> :class:`Interval`;
    * a :class:`RecurrenceExpression` -> returned as is;
    * a cron alias (``@daily``) or 5/6 whitespace-separated cron fields -> :class:`Cron`
      in ``default_tz``;
    * any other string -> :class:`NaturalExpression` (its ``tz`` clause wins over
      ``default_tz``).

    Raises:
        ValueError: invalid text, unknown zone or interval under one second.
    """
    if isinstance(value, RecurrenceExpression):
        return value
    if isinstance(value, timedelta):
        return Interval(value)
    if not isinstance(value, str):
        raise ValueError(
            f"expected a timedelta, a string or an expression, got {type(value).__name__}"
        )
    load_zone(default_tz)
    if looks_like_cron(value):
        return Cron(value, default_tz)
    return NaturalExpression(value, default_tz)


def expression_from_storage(kind: str, text: str, tz: str) -> RecurrenceExpression:
    """Inverse of :meth:`RecurrenceExpression.to_storage`."""
    if kind == Interval.kind:
        return Interval.from_text(text)
    if kind == Cron.kind:
        return Cron(text, tz)
    if kind == NaturalExpression.kind:
        return NaturalExpression(text, tz)
    raise ValueError(f"unknown expression kind {kind!r}, expected 'interval', 'cron' or 'natural'")
