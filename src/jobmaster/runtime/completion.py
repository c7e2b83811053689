"""Batched, fenced write-back of attempt results ("group commit").

Results queue up while a write is in flight; the next write takes all of them. Under load this
gives large batches with no added latency when idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..abc import AgentTransport
from ..model import AttemptResult

log = logging.getLogger("jobmaster.worker")

FlushedCallback = Callable[[list[AttemptResult], set[str]], None]


class CompletionBuffer:
    """Collects :class:`AttemptResult` objects and writes them with ``transport.finish``."""

    def __init__(
        self, transport: AgentTransport, *, max_batch: int, on_flushed: FlushedCallback
    ) -> None:
        self.transport = transport
        self.max_batch = max_batch
        self._on_flushed = on_flushed
        self._pending: list[AttemptResult] = []
        self._signal = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_flight = 0

    def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run(), name="jm-completion")

    def add(self, result: AttemptResult) -> None:
        """Queue one result; it is written with the next batch."""
        self._pending.append(result)
        self._signal.set()

    async def flush(self) -> None:
        """Write everything queued now (used by ``run_once`` and at stop)."""
        while self._pending:
            await self._write(self._take())

    async def stop(self) -> None:
        """Write what is left and stop the writer."""
        self._closing = True
        self._signal.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    def _take(self) -> list[AttemptResult]:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        return batch

    async def _run(self) -> None:
        while not self._closing:
            await self._signal.wait()
            self._signal.clear()
            while self._pending:
                await self._write(self._take())

    async def _write(self, batch: list[AttemptResult]) -> None:
        delay = 0.05
        while True:
            try:
                accepted = await self.transport.finish(batch)
                break
            except Exception as exc:
                # Results are idempotent (fenced by token): retrying an ambiguous write is safe.
                log.warning(
                    "writing %d results failed (%s); retrying in %.2fs", len(batch), exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._on_flushed(batch, accepted)
