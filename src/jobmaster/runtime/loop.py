"""The common shape of maintenance loops: ``start()``, ``stop()`` and ``run_once()``."""

from __future__ import annotations

import abc
import asyncio
import logging
from typing import Generic, TypeVar

Result = TypeVar("Result")


class PeriodicLoop(abc.ABC, Generic[Result]):
    """Runs :meth:`run_once` every ``interval`` seconds; again at once when :meth:`busy` says so.

    Failures are logged with backoff (doubling up to ``max_backoff``), never raised: a maintenance
    loop must survive a database restart.
    """

    name = "loop"
    #: Longest wait after failures (seconds); loops whose silence has consequences cap it lower.
    max_backoff = 30.0

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.log = logging.getLogger(f"jobmaster.{self.name}")
        self.consecutive_failures = 0

    @abc.abstractmethod
    async def run_once(self) -> Result:
        """Do one pass and return what it did."""

    def busy(self, result: Result) -> bool:
        """True when the last pass had a full batch: run again without waiting."""
        return False

    def start(self) -> None:
        """Start the loop in the background."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"jm-{self.name}")

    async def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.interval
            try:
                result = await self.run_once()
                self.consecutive_failures = 0
                if self.busy(result):
                    delay = 0
            except Exception as exc:
                self.consecutive_failures += 1
                delay = min(self.interval * 2**self.consecutive_failures, self.max_backoff)
                self.log.warning(
                    "%s pass failed (%s: %s); next try in %.1fs",
                    self.name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
            if delay:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)
