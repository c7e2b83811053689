"""Fixed-interval recurrence: pure elapsed time, independent of zones and DST."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ._base import RecurrenceExpression, require_aware

__all__ = ["EPOCH", "Interval", "format_interval", "parse_interval_text"]

#: Default anchor of every interval: the Unix epoch.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DOTNET = re.compile(
    r"^(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})"
    r"(?:\.(?P<fraction>\d{1,7}))?$"
)
_ISO = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?$"
)


def format_interval(every: timedelta) -> str:
    """Format like .NET ``TimeSpan``: ``H:MM:SS``, ``D.H:MM:SS``, optional ``.ffffff``."""
    total_seconds, micro = divmod(every // timedelta(microseconds=1), 1_000_000)
    days, rest = divmod(total_seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{seconds:02d}"
    if days:
        text = f"{days}.{text}"
    if micro:
        text = f"{text}.{micro:06d}".rstrip("0")
    return text


def parse_interval_text(text: str) -> timedelta:
    """Parse ``H:MM:SS`` / ``D.HH:MM:SS[.fffffff]`` (.NET) or ISO 8601 ``PnDTnHnMnS``."""
    value = text.strip()
    match = _DOTNET.match(value)
    if match:
        fraction = (match["fraction"] or "0").ljust(7, "0")
        if int(match["minutes"]) > 59 or int(match["seconds"]) > 59:
            raise ValueError(f"interval {text!r}: minutes and seconds must be 00-59")
        return timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"]),
            minutes=int(match["minutes"]),
            seconds=int(match["seconds"]),
            microseconds=int(fraction) // 10,
        )
    match = _ISO.match(value.upper())
    if match and value.upper() not in ("P", "PT") and not value.upper().endswith("T"):
        parts = {name: float(amount or 0) for name, amount in match.groupdict().items()}
        return timedelta(**parts)
    raise ValueError(
        f"interval {text!r}: expected 'H:MM:SS', 'D.HH:MM:SS' or an ISO 8601 duration like 'PT30S'"
    )


class Interval(RecurrenceExpression):
    """Fires every ``every`` of elapsed time: at ``anchor + k * every`` for ``k >= 0``.

    The anchor (default: the Unix epoch) is the first occurrence; asking for the next
    occurrence after any earlier instant returns the anchor.  Zones and DST never
    matter: an interval of one hour is always 3600 elapsed seconds.
    """

    kind = "interval"

    def __init__(self, every: timedelta, *, anchor: datetime | None = None) -> None:
        if every < timedelta(seconds=1):
            raise ValueError(f"interval must be at least 1 second, got {every!r}")
        self.every = every
        self.anchor = EPOCH if anchor is None else require_aware(anchor, "anchor").astimezone(UTC)
        self.tz = "UTC"
        self.text = format_interval(every)
        if self.anchor != EPOCH:
            self.text += f" anchor {self.anchor.isoformat()}"

    @classmethod
    def from_text(cls, text: str) -> Interval:
        """Rebuild an interval from its canonical text (``to_storage()[1]``)."""
        body, _, anchor_text = text.partition(" anchor ")
        anchor = None
        if anchor_text:
            try:
                anchor = datetime.fromisoformat(anchor_text.strip())
            except ValueError:
                raise ValueError(f"interval anchor {anchor_text!r}: not an ISO datetime") from None
        return cls(parse_interval_text(body), anchor=anchor)

    def next_after(self, after: datetime) -> datetime | None:
        """The smallest ``anchor + k * every`` (``k >= 0``) strictly later than ``after``."""
        moment = require_aware(after).astimezone(UTC)
        if moment < self.anchor:
            return self.anchor
        steps = (moment - self.anchor) // self.every + 1
        return self.anchor + steps * self.every
