"""Example tables of docs/expressions.md, computed with the library.

Regenerate the docs after changing the examples or the semantics (from the repo root):

    PYTHONPATH=src python -m tests.unit.recurrence.docs_examples --write

``test_docs.py`` fails when the tables in the docs no longer match the library.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jobmaster.recurrence import RecurrenceExpression, expression_from_storage, parse_expression

DOCS = Path(__file__).resolve().parents[3] / "docs" / "expressions.md"
BASE = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # a Friday, two days before Paris springs forward

INTERVALS = ["0:00:30", "1:30:00", "1.0:00:00", "1:00:00 anchor 2026-03-27T12:15:00+00:00"]
CRONS = [
    ("*/15 * * * *", "UTC"),
    ("0 9 * * mon-fri", "Europe/Paris"),
    ("30 2 * * *", "Europe/Paris"),
    ("*/20 * * * * *", "UTC"),
    ("0 12 13 * fri", "UTC"),
    ("0 0 31 * *", "UTC"),
    ("0 0 29 2 *", "UTC"),
    ("0 0 30 2 *", "UTC"),
    ("@weekly", "America/New_York"),
    ("@monthly", "Asia/Tokyo"),
]
NATURALS = {
    "every": [
        "every 1 minutes",
        "every 15 minutes",
        "every 25 minutes",
        "every 2 hours",
        "every 5 seconds between sec 10 and 20",
        "every 3 days at 06:00",
        "every 2 weeks on [sat, sun] at 10:30",
        "every 2 months AnchoredOn Nov on 1st",
        "every 2 years",
        "every mon at 9am",
        "secondly",
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
    ],
    "at": [
        "at 10:30am",
        "at [22:00, 00:00]",
        "on [fri, sat]",
        "in [jan, jun]",
        "on 10th",
        "on day 10",
        "in month 10",
        "at [Monday 10:00, Tuesday 11:00]",
        "on 1st JAN 14:00",
        "every year on feb-29 at 12:00",
        "on 31st at 08:00",
        "every month on fri at 09:00",
        "on 2026-12-24 18:00",
    ],
    "special": [
        "every month on LastDay at 23:00",
        "every month on LastDay - 1",
        "every month on FirstDay + 2",
        "every month on FirstWeekday at 07:00",
        "every month on LastWeekday at 17:00",
        "every month on ClosestWeekdayTo 15th at 08:00",
        "every month on 2ndFriday at 10:00",
        "every month on LastFri at 16:00",
        "every month on 5thSunday",
    ],
    "between": [
        "every 30 minutes between 09:00 and 18:00 on [mon, tue, wed, thu, fri]",
        "every day between mon and fri at 18:00",
        "every 1 hour between 09:00 and 18:00",
        "every 30 minutes in [jan, jun] between 09:00 and 18:00",
        "every 10 minutes between [10:00 and 10:20, 16:00 and 16:10]",
        "every 30 minutes between 23:00 and 01:00",
        "every day between 2nd and LastDay - 20 at 08:00",
        "every 5 minutes upto 00:10",
        "every hour from 22:00",
        "every day upto 3rd at 08:00",
    ],
    "zones": [
        "every day at 09:00 tz Europe/Paris",
        "every day at 02:30 tz Europe/Paris",
        "every 30 minutes between 01:30 and 03:00 on sun tz Europe/Paris",
        "every 30 minutes between 01:30 and 03:00 on 25th in oct tz Europe/Paris",
        "every 15 minutes between 01:30 and 02:00 on 1st in nov tz America/New_York",
        "every day at 09:00 tz America/New_York",
        "every 2 hours timezone Asia/Kolkata",
    ],
}


def _cell(expression: RecurrenceExpression) -> str:
    zone = ZoneInfo(expression.tz)
    found = [o.astimezone(zone).isoformat(sep=" ") for o in expression.occurrences(BASE, 5)]
    if len(found) < 5:
        found.append("*(no more)*")
    return "<br>".join(found)


def _table(rows: list[tuple[str, RecurrenceExpression]], zone_column: bool) -> str:
    header = (
        "| Expression | Zone | Next five occurrences |"
        if zone_column
        else "| Expression | Next five occurrences |"
    )
    lines = [header, "|---|---|---|" if zone_column else "|---|---|"]
    for label, expression in rows:
        zone = f" `{expression.tz}` |" if zone_column else ""
        lines.append(f"| `{label}` |{zone} {_cell(expression)} |")
    return "\n".join(lines)


def tables() -> dict[str, str]:
    """Markdown table per marker name."""
    result = {
        "interval": _table(
            [(t, expression_from_storage("interval", t, "UTC")) for t in INTERVALS], False
        ),
        "cron": _table([(t, parse_expression(t, default_tz=z)) for t, z in CRONS], True),
    }
    for name, texts in NATURALS.items():
        result[f"natural-{name}"] = _table([(t, parse_expression(t)) for t in texts], True)
    return result


def render(document: str) -> str:
    """``document`` with every ``<!-- examples:NAME -->`` block regenerated."""
    generated = tables()

    def replace(match: re.Match[str]) -> str:
        return f"{match[1]}\n{generated[match[2]]}\n{match[3]}"

    pattern = re.compile(r"(<!-- examples:([\w-]+) -->)\n.*?\n(<!-- /examples -->)", re.DOTALL)
    return pattern.sub(replace, document)


if __name__ == "__main__":
    if "--write" in sys.argv:
        DOCS.write_text(render(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print("\n\n".join(f"{name}\n{table}" for name, table in tables().items()))
