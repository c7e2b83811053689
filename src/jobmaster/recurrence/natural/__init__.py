"""NaturalCron expressions: human-readable recurrence such as ``every day at 09:00``.

The pipeline is tokenizer (``_tokens``) -> parser (``_parser``, ``_values``) ->
defaults and validation (``_compile``) -> matcher (``_matcher``, ``_dates``, ``_times``),
and the shared calendar search of :mod:`jobmaster.recurrence._search`.
"""

from __future__ import annotations

from .._search import CalendarExpression
from ._compile import compile_spec
from ._matcher import NaturalMatcher
from ._parser import parse

__all__ = ["NaturalExpression"]


class NaturalExpression(CalendarExpression):
    """A NaturalCron expression evaluated in its ``tz`` clause's zone, else ``default_tz``.

    Raises:
        ValueError: the text is invalid; the message names the rule, what was expected
            and the 0-based character position, e.g. ``every: the count must be a
            positive integer, got 0 (at position 6)``.
    """

    kind = "natural"

    def __init__(self, expression: str, default_tz: str = "UTC") -> None:
        text = " ".join(expression.split())
        if not text:
            raise ValueError(
                "expression: expected at least one every, at, on or in rule (at position 0)"
            )
        spec = parse(text)
        rules = compile_spec(spec)
        super().__init__(text, spec.tz or default_tz, NaturalMatcher(rules))
