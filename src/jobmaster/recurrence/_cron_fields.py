"""Parsing of classic cron fields into sets of allowed values."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALIASES", "FIELD_SPECS", "FieldSpec", "looks_like_cron", "parse_field"]

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class FieldSpec:
    """Name, bounds and symbolic names of one cron field."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0

    def value(self, token: str) -> int:
        """Convert a number or a name to an integer (not yet range checked)."""
        lowered = token.lower()
        if lowered in self.names:
            return self.names.index(lowered) + self.name_base
        if token.isdigit():
            return int(token)
        expected = f"a number {self.low}-{self.high}"
        if self.names:
            expected += f" or a name ({', '.join(self.names)})"
        raise ValueError(f"cron {self.name} field: {token!r} is not valid, expected {expected}")


SECOND = FieldSpec("second", 0, 59)
MINUTE = FieldSpec("minute", 0, 59)
HOUR = FieldSpec("hour", 0, 23)
DAY_OF_MONTH = FieldSpec("day-of-month", 1, 31)
MONTH = FieldSpec("month", 1, 12, MONTH_NAMES, 1)
# 0 and 7 both mean Sunday; 7 is folded to 0 after parsing.
DAY_OF_WEEK = FieldSpec("day-of-week", 0, 7, WEEKDAY_NAMES, 0)
FIELD_SPECS = (SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)

_CRON_FIELD = re.compile(r"^[0-9a-z*?,/\-]+$")


def looks_like_cron(text: str) -> bool:
    """Whether ``text`` is a cron alias or 5/6 fields of cron syntax (not natural words)."""
    stripped = text.strip().lower()
    if stripped in ALIASES:
        return True
    fields = stripped.split()
    if len(fields) not in (5, 6):
        return False
    names = set(MONTH_NAMES) | set(WEEKDAY_NAMES)
    return all(
        _CRON_FIELD.match(field) and set(re.findall(r"[a-z]+", field)) <= names for field in fields
    )


def _check(spec: FieldSpec, value: int) -> int:
    if not spec.low <= value <= spec.high:
        raise ValueError(f"cron {spec.name} field: {value} is out of range {spec.low}-{spec.high}")
    return value


def _parse_part(spec: FieldSpec, part: str) -> set[int]:
    base, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ValueError(
                f"cron {spec.name} field: step must be a positive integer, got {step_text!r}"
            )
        step = int(step_text)
    if base in ("*", "?"):
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _check(spec, spec.value(first)), _check(spec, spec.value(last))
        if low > high:
            raise ValueError(f"cron {spec.name} field: range {base!r} runs backwards")
    else:
        low = _check(spec, spec.value(base))
        high = spec.high if slash else low
    return set(range(low, high + 1, step))


def parse_field(spec: FieldSpec, text: str) -> frozenset[int]:
    """Parse one field (lists, ranges, steps, names) into its set of allowed values."""
    if not text:
        raise ValueError(f"cron {spec.name} field is empty")
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"cron {spec.name} field: empty list item in {text!r}")
        values |= _parse_part(spec, part)
    if spec is DAY_OF_WEEK and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)
