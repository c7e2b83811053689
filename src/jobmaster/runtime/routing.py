"""Routing: which agent gets a new job, or whether the master holds it.

A job goes to an agent that has live workers for its lane, the least loaded one (queue depth of
that lane, refreshed every second, plus what this process sent since). A job due later than the
agent horizon, or later than "now" on an agent that cannot delay delivery, is held on the master
(SCHEDULED) and promoted shortly before it is due. An unreachable agent is skipped for a while;
when no agent can take the job, the master holds it. Keyed jobs stay on one agent (hash of the
key) so that a retry of the same call lands where the first one went.

A standalone cluster has one agent and no routing.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..abc import AgentTransport, MasterStore
from ..model import ALL_LANES, NewJob, WorkerRecord

log = logging.getLogger("jobmaster.routing")

TOPOLOGY_TTL = 2.0
DEPTH_TTL = 1.0
DOWN_FOR = 5.0


@dataclass(slots=True)
class _AgentState:
    transport: AgentTransport
    lanes: set[str] = field(default_factory=set)
    depth: dict[str, int] = field(default_factory=dict)
    depth_at: float = 0.0
    sent: int = 0
    down_until: float = 0.0


class Router:
    """Chooses the agent of each enqueue call. See the module docstring."""

    def __init__(self, master: MasterStore, agents: dict[str, AgentTransport], *,
                 horizon: timedelta, standalone: bool) -> None:
        self.master = master
        self.standalone = standalone
        self.horizon = horizon
        self._agents = {name: _AgentState(agent) for name, agent in agents.items()}
        self._topology_at = -TOPOLOGY_TTL
        self._warned: set[str] = set()

    def set_offline(self, name: str, offline: bool) -> None:
        """Take an agent out of routing until it is back (it could not even be opened)."""
        state = self._agents[name]
        state.down_until = float("inf") if offline else 0.0

    def mark_down(self, agent: AgentTransport) -> None:
        """Skip an agent that failed for a while (it is retried after ``DOWN_FOR`` seconds)."""
        for state in self._agents.values():
            if state.transport is agent:
                state.down_until = time.monotonic() + DOWN_FOR

    async def choose(self, job: NewJob, *, exclude: Sequence[AgentTransport] = (),
                     promoting: bool = False) -> AgentTransport | None:
        """The agent for ``job`` (and the jobs sharing its lane in one call), or None: hold it
        on the master. ``promoting``: the job comes from the master already (the promoter took
        it because it is due soon), so only an agent's ability to delay delivery matters."""
        states = list(self._agents.values())
        if self.standalone and len(states) == 1:
            return states[0].transport
        await self._refresh_topology()
        now = time.monotonic()
        eligible = [s for s in states
                    if s.transport not in exclude and s.down_until <= now and self._serves(s, job)
                    and self._can_take(s.transport, job.scheduled_at, promoting)]
        if not eligible:
            if not any(self._serves(s, job) for s in states) and job.lane not in self._warned:
                self._warned.add(job.lane)
                log.warning("no live worker serves lane %r: its jobs are held on the master "
                            "until one does", job.lane)
            return None
        if job.idempotency_key:
            eligible.sort(key=lambda s: s.transport.agent_name)
            index = zlib.crc32(job.idempotency_key.encode()) % len(eligible)
            return eligible[index].transport
        for state in eligible:
            await self._refresh_depth(state, now)
        best = min(eligible, key=lambda s: s.depth.get(job.lane, 0) + s.sent)
        return best.transport

    def sent(self, agent: AgentTransport, count: int) -> None:
        """Count jobs sent to an agent since its depth was last read (balances bursts)."""
        for state in self._agents.values():
            if state.transport is agent:
                state.sent += count

    def _serves(self, state: _AgentState, job: NewJob) -> bool:
        return job.lane in state.lanes or ALL_LANES in state.lanes

    def _can_take(self, agent: AgentTransport, when: datetime | None, promoting: bool) -> bool:
        if when is None:
            return True
        ahead = when - datetime.now(UTC)
        if agent.capabilities.delayed_delivery:
            return promoting or ahead <= self.horizon
        return ahead <= timedelta(0)

    async def _refresh_topology(self) -> None:
        now = time.monotonic()
        if now - self._topology_at < TOPOLOGY_TTL:
            return
        try:
            workers = await self.master.list_workers()
        except Exception as exc:  # master down: keep routing on what we knew
            log.warning("cannot read the topology (%s); routing on the last one known", exc)
            self._topology_at = now
            return
        self._apply_topology(workers)
        self._topology_at = now

    def _apply_topology(self, workers: list[WorkerRecord]) -> None:
        for state in self._agents.values():
            state.lanes = set()
        for worker in workers:
            target = self._agents.get(worker.agent)
            if target is not None and worker.status == "active":
                target.lanes.update(worker.lanes)

    async def _refresh_depth(self, state: _AgentState, now: float) -> None:
        if now - state.depth_at < DEPTH_TTL:
            return
        try:
            state.depth = await state.transport.queue_depth()
            state.sent = 0
        except Exception:
            state.down_until = now + DOWN_FOR
        state.depth_at = now
