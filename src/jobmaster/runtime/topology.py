"""Topology heartbeat: tells the master which workers of this process are alive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..abc import MasterStore
from .loop import PeriodicLoop

if TYPE_CHECKING:
    from .worker import Worker


class TopologyHeartbeat(PeriodicLoop[int]):
    """Records a heartbeat and the in-flight count of each worker, every ``interval`` seconds."""

    name = "topology"

    def __init__(self, master: MasterStore, workers: Sequence[Worker], *, interval: float) -> None:
        super().__init__(interval)
        self.master = master
        self.workers = workers

    async def run_once(self) -> int:
        """One heartbeat for every worker; returns how many."""
        await self.master.heartbeat_workers({w.worker_id: w.in_flight for w in self.workers})
        return len(self.workers)
