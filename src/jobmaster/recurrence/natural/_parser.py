"""Parser: NaturalCron text -> :class:`Spec` (syntax only; defaults come later)."""

from __future__ import annotations

from datetime import date

from .._zones import load_zone
from ._cursor import Cursor
from ._model import Every, Range, RangeRule, Selection, Spec, Value
from ._tokens import Token, tokenize
from ._values import parse_time, parse_value
from ._vocabulary import ANCHOR_KEYWORDS, MONTHS, RULE_KEYWORDS, SHORTCUTS, WEEKDAYS, unit_of

__all__ = ["DAY_EPOCH", "WEEK_EPOCH", "parse"]

#: Day and week counting of ``every N days/weeks`` starts here (a Monday for weeks).
DAY_EPOCH = date(1970, 1, 1).toordinal()
WEEK_EPOCH = date(1970, 1, 5).toordinal()
_UNITS_HELP = "a unit (second, minute, hour, day, week, month, year) or a weekday"
_RANGE_KINDS = {
    frozenset({"hour", "minute", "second"}): "time",
    frozenset({"hour"}): "hour",
    frozenset({"minute"}): "minute",
    frozenset({"second"}): "second",
    frozenset({"day"}): "day",
    frozenset({"weekday"}): "weekday",
    frozenset({"month"}): "month",
    frozenset({"year"}): "year",
    frozenset({"month", "day"}): "monthday",
    frozenset({"year", "month", "day"}): "date",
}
_AND = frozenset({"and"})


def parse(text: str) -> Spec:
    """Parse ``text``; raise ``ValueError`` naming the rule, the problem and the position."""
    cursor = Cursor(tokenize(text), text)
    spec = Spec()
    while (token := cursor.peek()) is not None:
        cursor.take()
        if token.kind == ",":
            continue
        cursor.clause = "expression"
        if token.kind != "word" or token.value not in RULE_KEYWORDS:
            keywords = "every, at, on, in, between, upto, from, tz or a shortcut like daily"
            cursor.fail(f"expected a rule keyword ({keywords}), got {token.text!r}", token)
        cursor.clause = token.value
        _parse_rule(cursor, token, spec)
    return spec


def _parse_rule(cursor: Cursor, keyword: Token, spec: Spec) -> None:
    word = keyword.value
    if word in ("every", *SHORTCUTS):
        if spec.every is not None:
            cursor.fail(
                f"only one every rule is allowed (first at position {spec.every.position})", keyword
            )
        spec.every = _parse_every(cursor, keyword, spec)
    elif word in ("at", "on", "in"):
        spec.selections.append(Selection(word, _parse_selection(cursor), keyword.position))
    elif word == "between":
        spec.ranges.append(RangeRule(word, _parse_between(cursor), keyword.position))
    elif word in ("upto", "from"):
        value, _ = parse_value(cursor, in_list=False)
        kind = _range_kind(cursor, value)
        bounds = Range(kind, None, value) if word == "upto" else Range(kind, value, None)
        spec.ranges.append(RangeRule(word, (bounds,), keyword.position))
    else:
        zone = cursor.expect("zone", "an IANA time zone like Europe/Paris")
        if spec.tz is not None:
            cursor.fail("the time zone is given twice", keyword)
        try:
            load_zone(zone.text)
        except ValueError as error:
            cursor.fail(str(error), zone)
        spec.tz = zone.text


def _parse_every(cursor: Cursor, keyword: Token, spec: Spec) -> Every:
    if keyword.value in SHORTCUTS:
        return Every(
            1,
            SHORTCUTS[keyword.value],
            _parse_anchor(cursor, SHORTCUTS[keyword.value]),
            keyword.position,
        )
    count = 1
    sign = cursor.accept("-")
    number = cursor.accept("number")
    if number is not None:
        count = int(number.text) * (-1 if sign else 1)
    if count <= 0 or (sign and number is None):
        at = sign or number or keyword
        cursor.fail(f"the count must be a positive integer, got {count if number else '-'}", at)
    unit_token = cursor.peek()
    if unit_token is None:
        cursor.fail_at_end(_UNITS_HELP)
    unit = unit_of(unit_token.value) if unit_token.kind == "word" else None
    if unit is None and unit_token.kind == "word" and unit_token.value in WEEKDAYS:
        # "every monday" = "every week on monday"
        item = Value(unit_token.position, weekday=WEEKDAYS[unit_token.value])
        spec.selections.append(Selection("on", (item,), unit_token.position))
        unit = "week"
    if unit is None:
        cursor.fail(f"expected {_UNITS_HELP}, got {unit_token.text!r}", unit_token)
    cursor.take()
    return Every(count, unit, _parse_anchor(cursor, unit), keyword.position)


def _parse_anchor(cursor: Cursor, unit: str) -> int:
    """``AnchoredOn <value>`` after an every rule, as an index of ``unit``.

    Without it, grids start at midnight, 1970-01-01, Monday 1970-01-05, January and 1970.
    """
    token = cursor.peek()
    if token is None or token.kind != "word" or token.value not in ANCHOR_KEYWORDS:
        return 1970 if unit == "year" else 0
    cursor.take()
    anchor = cursor.take()
    if unit in ("second", "minute", "hour"):
        return _clock_anchor(cursor, anchor, unit)
    if unit == "month":
        if anchor.kind == "number" and 1 <= int(anchor.text) <= 12:
            return int(anchor.text) - 1
        if anchor.kind == "word" and anchor.value in MONTHS:
            return MONTHS[anchor.value] - 1
        expected = "a month like Nov or 11 to anchor every month"
        cursor.fail(f"expected {expected}, got {anchor.text!r}", anchor)
    if unit == "year":
        if anchor.kind == "number":
            return int(anchor.text)
        cursor.fail(f"expected a year like 2024 to anchor every year, got {anchor.text!r}", anchor)
    return _date_anchor(cursor, anchor, unit)


def _clock_anchor(cursor: Cursor, anchor: Token, unit: str) -> int:
    """A number (``AnchoredOn 7``) or a time (``AnchoredOn 00:07``) for sub-day units."""
    if anchor.kind == "number":
        return int(anchor.text)
    if anchor.kind != "time":
        expected = f"a number or a time to anchor every {unit}"
        cursor.fail(f"expected {expected}, got {anchor.text!r}", anchor)
    hour, minute, second = parse_time(cursor, anchor)
    if unit == "hour":
        return hour
    return hour * 60 + minute if unit == "minute" else hour * 3600 + minute * 60 + second


def _date_anchor(cursor: Cursor, anchor: Token, unit: str) -> int:
    try:
        ordinal = date.fromisoformat(anchor.text).toordinal() if anchor.kind == "date" else None
    except ValueError:
        ordinal = None
    if ordinal is None:
        cursor.fail(
            f"expected a date like 2024-01-15 to anchor every {unit}, got {anchor.text!r}", anchor
        )
    return ordinal - DAY_EPOCH if unit == "day" else (ordinal - WEEK_EPOCH) // 7


def _parse_selection(cursor: Cursor) -> tuple[Value, ...]:
    """``<value>``, ``[<value>, ...]`` or ``<unit> [<number>, ...]``."""
    unit = None
    head, following = cursor.peek(), cursor.peek(1)
    if head is not None and head.kind == "word" and following is not None and following.kind == "[":
        unit = unit_of(head.value)
        if unit is not None:
            cursor.take()
    if not cursor.accept("["):
        return (parse_value(cursor, in_list=False, unit=unit)[0],)
    items = [parse_value(cursor, in_list=True, unit=unit)[0]]
    while cursor.accept(","):
        items.append(parse_value(cursor, in_list=True, unit=unit)[0])
    cursor.expect("]", "',' or ']' in the list")
    return tuple(items)


def _parse_between(cursor: Cursor) -> tuple[Range, ...]:
    """``A and B`` or ``[A and B, C and D]``."""
    bracket = cursor.accept("[")
    if bracket is None:
        return (_parse_pair(cursor, in_list=False),)
    ranges = [_parse_pair(cursor, in_list=True)]
    while cursor.accept(","):
        ranges.append(_parse_pair(cursor, in_list=True))
    cursor.expect("]", "',' or ']' in the list")
    kinds = {bounds.kind for bounds in ranges}
    if len(kinds) > 1:
        cursor.fail(f"all ranges of one list must be of one kind, got {sorted(kinds)}", bracket)
    return tuple(ranges)


def _parse_pair(cursor: Cursor, in_list: bool) -> Range:
    low, unit = parse_value(cursor, in_list=in_list, stop_words=_AND)
    and_token = cursor.peek()
    if and_token is None:
        cursor.fail_at_end("'and' between the two bounds")
    if and_token.kind != "word" or and_token.value != "and":
        cursor.fail(f"expected 'and' between the two bounds, got {and_token.text!r}", and_token)
    cursor.take()
    high, _ = parse_value(cursor, in_list=in_list, unit=unit, stop_words=_AND)
    low_kind, high_kind = _range_kind(cursor, low), _range_kind(cursor, high)
    if low_kind != high_kind:
        cursor.fail(
            f"both bounds must be of the same kind, got {low_kind} and {high_kind}", high.position
        )
    return Range(low_kind, low, high)


def _range_kind(cursor: Cursor, value: Value) -> str:
    kind = _RANGE_KINDS.get(value.fields())
    if kind is None or (
        kind in ("date", "monthday") and value.day is not None and value.day.kind != "day"
    ):
        cursor.fail(
            "a bound must be one time, hour, minute, second, day, weekday, month, year or date",
            value.position,
        )
    return kind
