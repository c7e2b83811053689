"""The history cleaner: deletes finished jobs (and their attempts) older than the retention."""

from __future__ import annotations

from datetime import timedelta

from ..abc import MasterStore
from .loop import PeriodicLoop


class HistoryCleaner(PeriodicLoop[int]):
    """Purges, every ``interval`` seconds, finished jobs whose ``finished_at`` is older than
    ``retention`` (by the master's clock), in batches; several processes may run it at once."""

    name = "cleaner"

    def __init__(self, master: MasterStore, *, retention: timedelta, interval: float = 60.0,
                 batch_size: int = 5000) -> None:
        super().__init__(interval)
        self.master = master
        self.retention = retention
        self.batch_size = batch_size
        self.purged_total = 0

    async def run_once(self) -> int:
        """Purge one batch; returns how many jobs were deleted."""
        purged = await self.master.purge_history(self.retention, limit=self.batch_size)
        self.purged_total += purged
        return purged

    def busy(self, result: int) -> bool:
        return result >= self.batch_size
