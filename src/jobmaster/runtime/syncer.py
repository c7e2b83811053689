"""The syncer: moves agent outbox events to the master in large, idempotent batches."""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime

from ..abc import AgentTransport, MasterStore
from ..model import JobEvent
from .loop import PeriodicLoop

#: Log a warning when the oldest event of a batch waited longer than this (seconds).
LAG_WARNING = 10.0


class Syncer(PeriodicLoop[int]):
    """Drains the outboxes of the given agents into the master and trims them.

    Replaying a batch changes nothing (the master keeps the highest version per job), so a crash
    between "applied" and "trimmed" is harmless. When master and agent share a database the move
    is one server-side statement; when the master can take the agent's own export format (two
    PostgreSQL databases: binary COPY) the batch moves as bytes, never decoded in Python. While the master is down, batches fail and are retried with
    backoff; the outboxes grow and drain when it returns.

    Sync lag: for each batch, how long its oldest event waited in the outbox (from the moment
    the attempt finished to the moment the master has it); ``lag`` holds the last value per
    agent and ``recent_lags`` the last thousand, for percentiles.
    """

    name = "syncer"
    #: After a master outage the history converges within about this long.
    max_backoff = 2.0

    def __init__(self, master: MasterStore, agents: list[AgentTransport], *, interval: float,
                 batch_size: int = 5000) -> None:
        super().__init__(interval)
        self.master = master
        self.agents = agents
        self.batch_size = batch_size
        self.synced_total = 0
        self.lag: dict[str, float] = {agent.agent_name: 0.0 for agent in agents}
        self.recent_lags: deque[float] = deque(maxlen=1000)
        self._warned_at = 0.0

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
            moved = await agent.sync_colocated(self.batch_size)
            self.lag[agent.agent_name] = 0.0 if moved < self.batch_size else self.interval
            return moved
        fmt = agent.outbox_export_format
        data = (await agent.export_outbox(self.batch_size)
                if fmt is not None and fmt in self.master.outbox_import_formats else None)
        if fmt is not None and data is not None:
            batch = await self.master.import_outbox(fmt, data, agent.agent_name)
            seqs, oldest = batch.seqs, batch.oldest
        else:
            events = await agent.read_outbox(self.batch_size)
            if events:
                await self.master.apply_events(events)
            seqs = [event.seq for event in events]
            oldest = min((t for t in map(_event_time, events) if t is not None), default=None)
        if not seqs:
            self.lag[agent.agent_name] = 0.0
            return 0
        await agent.trim_outbox(seqs)
        self._record_lag(agent.agent_name, oldest)
        return len(seqs)

    def _record_lag(self, agent_name: str, oldest: datetime | None) -> None:
        if oldest is None:
            return
        lag = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        self.lag[agent_name] = lag
        self.recent_lags.append(lag)
        if lag > LAG_WARNING and time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            self.log.warning("sync lag of agent %r is %.1f s (the master is behind)",
                             agent_name, lag)


def _event_time(event: JobEvent) -> datetime | None:
    if event.finished_at is not None:
        return event.finished_at
    if event.attempt is not None:
        return event.attempt.finished_at or event.attempt.started_at
    return None
