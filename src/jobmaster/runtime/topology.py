"""Topology heartbeat: tells the master which workers of this process are alive, and notices
drain requests (an operator set a worker's status to ``draining``, e.g. through the API)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..abc import MasterStore
from ..model import AgentRecord
from .loop import PeriodicLoop

if TYPE_CHECKING:
    from .worker import Worker

DrainCallback = Callable[["Worker"], None]


class TopologyHeartbeat(PeriodicLoop[int]):
    """Records a heartbeat and the in-flight count of each worker, every ``interval`` seconds;
    calls ``on_drain`` once for each of them whose status became ``draining``."""

    name = "topology"

    def __init__(self, master: MasterStore, workers: Sequence[Worker], *, interval: float,
                 on_drain: DrainCallback | None = None,
                 agents: Callable[[], list[AgentRecord]] | None = None) -> None:
        super().__init__(interval)
        # Never go quiet longer than a heartbeat: a worker silent for 30 s is reported dead.
        self.max_backoff = interval
        self.master = master
        self.workers = workers
        self.on_drain = on_drain
        self.agents = agents
        self._draining: set[str] = set()

    async def run_once(self) -> int:
        """One heartbeat for every worker; returns how many."""
        await self.master.heartbeat_workers({w.worker_id: w.in_flight for w in self.workers})
        if self.agents is not None and self.master.capabilities.agent_registry:
            await self.master.register_agents(self.agents())  # the agents this process reaches
        if self.on_drain is not None:
            await self._check_drain_requests(self.on_drain)
        return len(self.workers)

    async def _check_drain_requests(self, on_drain: DrainCallback) -> None:
        ours = {w.worker_id: w for w in self.workers}
        for record in await self.master.list_workers():
            worker = ours.get(record.id)
            if worker is not None and record.status == "draining" and \
                    record.id not in self._draining:
                self._draining.add(record.id)
                self.log.info("worker %s: drain requested; stopping it gracefully", record.id)
                on_drain(worker)
