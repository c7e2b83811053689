"""Shipping the ``jobmaster`` logs of this process to the master, in batches.

:class:`MasterLogHandler` keeps records in a bounded buffer (oldest dropped first, counted) and
:class:`LogShipper` writes them to the master every second. Messages are redacted (passwords
in connection strings) and tracebacks reduced to the exception's type; a master that is down
only delays the shipping (the buffer is kept, up to its bound).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import deque
from datetime import UTC, datetime

from .._redact import redact_text
from ..abc import MasterStore
from ..model import LogEntry
from .loop import PeriodicLoop

MAX_MESSAGE = 4000


class MasterLogHandler(logging.Handler):
    """A logging handler buffering records for :class:`LogShipper`."""

    def __init__(self, level: int = logging.INFO, capacity: int = 10_000) -> None:
        super().__init__(level)
        self._buffer: deque[LogEntry] = deque(maxlen=capacity)
        self._guard = threading.Lock()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "jobmaster.logship":
            return  # never ship the shipper's own complaints (no feedback loop)
        try:
            message = redact_text(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                message += f" ({type(record.exc_info[1]).__name__})"
            entry = LogEntry(datetime.fromtimestamp(record.created, UTC), record.levelno,
                             record.name, message[:MAX_MESSAGE], self.host, self.pid)
            with self._guard:
                if len(self._buffer) == self._buffer.maxlen:
                    self.dropped += 1
                self._buffer.append(entry)
        except Exception:  # a log handler must never raise
            self.handleError(record)

    def take(self, limit: int) -> list[LogEntry]:
        """Remove and return up to ``limit`` of the oldest buffered records."""
        with self._guard:
            return [self._buffer.popleft() for _ in range(min(limit, len(self._buffer)))]

    def put_back(self, entries: list[LogEntry]) -> None:
        """Return records whose shipping failed (they go out with the next batch)."""
        with self._guard:
            self._buffer.extendleft(reversed(entries))


class LogShipper(PeriodicLoop[int]):
    """Writes the buffered records of a :class:`MasterLogHandler` to the master."""

    name = "logship"
    max_backoff = 10.0

    def __init__(self, master: MasterStore, handler: MasterLogHandler, *, interval: float = 1.0,
                 batch_size: int = 1000) -> None:
        super().__init__(interval)
        self.master = master
        self.handler = handler
        self.batch_size = batch_size
        self.shipped_total = 0

    async def run_once(self) -> int:
        """Ship one batch; returns how many records were written."""
        batch = self.handler.take(self.batch_size)
        if not batch:
            return 0
        try:
            await self.master.write_logs(batch)
        except Exception:
            self.handler.put_back(batch)
            raise
        self.shipped_total += len(batch)
        return len(batch)

    def busy(self, result: int) -> bool:
        return result >= self.batch_size

    async def flush(self) -> None:
        """Ship everything buffered (at stop)."""
        while await self.run_once():
            pass
