"""Recent log records of this process, kept in a bounded in-memory ring for ``/api/logs``.

There is no log store on the master yet, so the API shows what this process logged (the
``jobmaster`` loggers by default). Messages pass through :func:`redact_text` before they are
kept, and exception tracebacks are reduced to their last line.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from .._redact import redact_text

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


@dataclass(frozen=True, slots=True)
class LogRecordView:
    """One kept record."""

    id: int
    time: datetime
    level: str
    subject: str
    message: str


class LogBuffer(logging.Handler):
    """A logging handler keeping the last ``capacity`` records."""

    def __init__(self, capacity: int = 2000, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._records: deque[LogRecordView] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact_text(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                message += f" ({type(exc).__name__})"
            view = LogRecordView(
                next(self._ids), datetime.fromtimestamp(record.created, UTC),
                record.levelname.lower(), record.name, message[:4000],
            )
            with self._guard:
                self._records.append(view)
        except Exception:  # a log handler must never raise
            self.handleError(record)

    def query(self, *, level: str | None = None, subject: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              text: str | None = None, limit: int = 100) -> list[LogRecordView]:
        """Newest first, filtered; ``subject`` matches the logger name prefix."""
        minimum = LEVELS.get(level or "debug", 10)
        needle = text.lower() if text else None
        with self._guard:
            records = list(self._records)
        out: list[LogRecordView] = []
        for record in reversed(records):
            if LEVELS.get(record.level, 0) < minimum:
                continue
            if subject and not record.subject.startswith(subject):
                continue
            if (since and record.time < since) or (until and record.time >= until):
                continue
            if needle and needle not in record.message.lower():
                continue
            out.append(record)
            if len(out) >= limit:
                break
        return out

    def attach(self, logger_name: str = "jobmaster") -> None:
        """Start collecting the records of ``logger_name`` and its children."""
        logging.getLogger(logger_name).addHandler(self)

    def detach(self, logger_name: str = "jobmaster") -> None:
        """Stop collecting."""
        logging.getLogger(logger_name).removeHandler(self)
