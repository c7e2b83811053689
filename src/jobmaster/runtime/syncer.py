"""The syncer: moves agent outbox events to the master in large, idempotent batches."""

from __future__ import annotations

from ..abc import AgentTransport, MasterStore
from .loop import PeriodicLoop


class Syncer(PeriodicLoop[int]):
    """Drains the outboxes of the given agents into the master and trims them.

    Replaying a batch changes nothing (the master keeps the highest version per job), so a crash
    between "applied" and "trimmed" is harmless. When master and agent share a database the move
    is one server-side statement.
    """

    name = "syncer"

    def __init__(
        self,
        master: MasterStore,
        agents: list[AgentTransport],
        *,
        interval: float,
        batch_size: int = 5000,
    ) -> None:
        super().__init__(interval)
        self.master = master
        self.agents = agents
        self.batch_size = batch_size
        self.synced_total = 0

    async def run_once(self) -> int:
        """Sync one batch from each agent; returns the number of events moved."""
        moved = 0
        for agent in self.agents:
            moved += await self._sync_agent(agent)
        self.synced_total += moved
        return moved

    async def drain(self) -> int:
        """Sync until every outbox is empty (tests, shutdown)."""
        total = 0
        while (moved := await self.run_once()) > 0:
            total += moved
        return total

    def busy(self, result: int) -> bool:
        return result >= self.batch_size

    async def _sync_agent(self, agent: AgentTransport) -> int:
        if agent.capabilities.colocated_sync:
            return await agent.sync_colocated(self.batch_size)
        events = await agent.read_outbox(self.batch_size)
        if not events:
            return 0
        await self.master.apply_events(events)
        await agent.trim_outbox([event.seq for event in events])
        return len(events)
