"""Validation and defaults: turn a parsed :class:`Spec` into the rules the matcher runs.

Defaults ("every day" runs at 00:00:00, "in jan" on Jan 1st at 00:00:00):

* fields finer than the ``every`` unit that no ``at``/``on``/``in`` rule fixes take their
  smallest value (second/minute/hour 0, day 1, month January; Monday for ``every week``);
* fields finer than the finest field of an ``at``/``on``/``in`` value (and finer than the
  ``every`` unit) that no *other* ``at``/``on``/``in`` rule fixes take their smallest value;
* with ``every month``/``every year``, weekday values and no day values, a weekday means
  its first occurrence in the month (``every month on fri`` = first Friday).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NoReturn

from ._model import LEVEL, TIME_FIELDS, DaySpec, Every, Range, RangeRule, Selection, Spec, Value
from ._times import TimeRules

__all__ = ["Rules", "compile_spec"]

_FIRST_DAY = DaySpec("day", 1)
_RANGE_FIELDS = {
    "time": TIME_FIELDS,
    "hour": ("hour",),
    "minute": ("minute",),
    "second": ("second",),
}


@dataclass(frozen=True)
class Rules:
    """What the matcher evaluates: every grid, selections (AND of ORs) and ranges."""

    every: Every | None
    selections: tuple[tuple[Value, ...], ...]
    ranges: tuple[tuple[Range, ...], ...]


def _fail(keyword: str, message: str, position: int) -> NoReturn:
    raise ValueError(f"{keyword}: {message} (at position {position})")


def _check_rules(spec: Spec) -> None:
    if spec.every is None and spec.ranges:
        rule = spec.ranges[0]
        example = "e.g. 'every 30 minutes between 09:00 and 18:00'"
        _fail(rule.keyword, f"needs an every rule, {example}", rule.position)
    if spec.every is None and not spec.selections:
        _fail("expression", "expected at least one every, at, on or in rule", 0)
    owner: dict[str, Selection] = {}
    for selection in spec.selections:
        for name in sorted(set().union(*(item.fields() for item in selection.items))):
            if name in owner:
                first = owner[name]
                _fail(
                    selection.keyword,
                    f"the {name} is already set by the {first.keyword} rule"
                    f" at position {first.position}",
                    selection.position,
                )
            owner[name] = selection
    for rule in spec.ranges:
        for bounds in rule.ranges:
            _check_order(rule, bounds)


def _check_order(rule: RangeRule, bounds: Range) -> None:
    if bounds.kind not in ("year", "date") or bounds.low is None or bounds.high is None:
        return
    low = (bounds.low.year, bounds.low.month or 0, bounds.low.day.number if bounds.low.day else 0)
    high = (
        bounds.high.year,
        bounds.high.month or 0,
        bounds.high.day.number if bounds.high.day else 0,
    )
    if low > high:
        _fail(rule.keyword, "the first bound is after the second one", bounds.low.position)


def _mentioned(selections: list[Selection], skip: Selection | None = None) -> set[str]:
    return {name for s in selections if s is not skip for item in s.items for name in item.fields()}


def _first_weekdays(spec: Spec) -> list[Selection]:
    """``every month on fri`` -> first Friday of the month."""
    every = spec.every
    if every is None or every.unit not in ("month", "year") or "day" in _mentioned(spec.selections):
        return spec.selections
    converted = []
    for selection in spec.selections:
        items = tuple(
            replace(item, weekday=None, day=DaySpec("nth_weekday", 1, item.weekday))
            if item.weekday is not None
            else item
            for item in selection.items
        )
        converted.append(replace(selection, items=items))
    return converted


def _smallest(name: str, unit_level: int, fixed: set[str]) -> dict[str, object]:
    """Default for field ``name`` when finer than ``unit_level`` and not in ``fixed``."""
    if name in fixed or LEVEL[name] >= unit_level:
        return {}
    if name in TIME_FIELDS:
        return {name: 0}
    if name == "day":
        if "weekday" in fixed:
            return {}
        return {"weekday": 0} if unit_level == LEVEL["week"] else {"day": _FIRST_DAY}
    return {"month": 1}


def _defaults(unit_level: int, fixed: set[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in ("month", "day", "hour", "minute", "second"):
        values.update(_smallest(name, unit_level, fixed))
    return values


def _fill_item(item: Value, every_level: int, others: set[str]) -> Value:
    finest = min(LEVEL[name] for name in item.fields())
    extra = _defaults(min(finest, every_level), others | item.fields())
    return item.with_fields(**extra) if extra else item


def _check_reachable(spec: Spec, every_defaults: dict[str, object]) -> None:
    """Reject a time range that excludes the 00:00:00 the every rule's defaults force."""
    assert spec.every is not None
    for rule in spec.ranges:
        needed = _RANGE_FIELDS.get(rule.ranges[0].kind, ())
        forced = bool(needed) and all(name in every_defaults for name in needed)
        if forced and TimeRules(None, [rule.ranges]).first((), 0) != 0:
            _fail(
                rule.keyword,
                f"never matches: with 'every {spec.every.unit}' and no at rule the"
                f" {'/'.join(needed)} default to 0; add an at rule or use a finer unit",
                rule.position,
            )


def compile_spec(spec: Spec) -> Rules:
    """Validate ``spec`` and fill in defaults; raise ``ValueError`` on invalid combinations."""
    _check_rules(spec)
    selections = _first_weekdays(spec)
    every_level = LEVEL[spec.every.unit] if spec.every else max(LEVEL.values()) + 1
    filled = [
        tuple(_fill_item(item, every_level, _mentioned(selections, s)) for item in s.items)
        for s in selections
    ]
    if spec.every is not None:
        every_defaults = _defaults(every_level, _mentioned(selections))
        _check_reachable(spec, every_defaults)
        if every_defaults:
            filled.append((Value(spec.every.position, **every_defaults),))  # type: ignore[arg-type]
    return Rules(spec.every, tuple(filled), tuple(rule.ranges for rule in spec.ranges))
