"""The promoter: moves jobs held on the master to an agent shortly before they are due.

Exactly once, with any number of promoters: a job is taken under a token (SKIP LOCKED on SQL),
delivered to an agent with its own id (an agent refuses a second copy of an id it holds), and
only then forgotten on the master, fenced by the token. A promoter that dies in between leaves
the token to expire; the next one sees the job flagged ``retaken`` and first looks for it on the
agents and in the history before delivering it again.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import timedelta

from ..abc import AgentTransport, MasterStore
from ..model import HeldJob, JobStatus, NewJob
from .loop import PeriodicLoop
from .routing import Router

log = logging.getLogger("jobmaster.promoter")


class Promoter(PeriodicLoop[int]):
    """Promotes held jobs due within ``ahead`` (jobs for agents that cannot delay delivery wait
    on the master until due; the router keeps them there)."""

    name = "promoter"

    def __init__(self, master: MasterStore, router: Router, agents: dict[str, AgentTransport], *,
                 interval: float, ahead: timedelta, batch_size: int = 500,
                 lease: timedelta = timedelta(seconds=30)) -> None:
        super().__init__(interval)
        self.master = master
        self.router = router
        self.agents = agents
        self.ahead = ahead
        self.batch_size = batch_size
        self.lease = lease
        self.owner = f"promoter-{uuid.uuid4().hex[:8]}"
        self.promoted_total = 0

    def busy(self, result: int) -> bool:
        return result >= self.batch_size

    async def run_once(self) -> int:
        """Promote one batch of due held jobs; returns how many reached an agent."""
        taken = await self.master.claim_held(self.owner, due_within=self.ahead,
                                             limit=self.batch_size, lease=self.lease)
        if not taken:
            return 0
        done: dict[str, str] = {}
        back: dict[str, str] = {}
        groups: dict[AgentTransport, list[HeldJob]] = defaultdict(list)
        for held in taken:
            if held.retaken and await self._delivered_already(held.job.id):
                done[held.job.id] = held.token
                continue
            agent = await self.router.choose(_due_job(held), promoting=True)
            if agent is None:
                back[held.job.id] = held.token
            else:
                groups[agent].append(held)
        for agent, batch in groups.items():
            target = done if await self._deliver(agent, batch) else back
            target.update({held.job.id: held.token for held in batch})
        if done:
            await self.master.finish_held(done)
        if back:
            await self.master.release_held(back)
        promoted = len(done)
        self.promoted_total += promoted
        return promoted

    async def _deliver(self, agent: AgentTransport, batch: list[HeldJob]) -> bool:
        try:
            await agent.enqueue([_due_job(held) for held in batch])
        except Exception as exc:
            log.warning("promoting %d jobs to agent %r failed (%s); they stay held",
                        len(batch), agent.agent_name, exc)
            self.router.mark_down(agent)
            return False
        self.router.sent(agent, len(batch))
        return True

    async def _delivered_already(self, job_id: str) -> bool:
        for agent in self.agents.values():
            if await agent.get_job(job_id) is not None:
                return True
        info = await self.master.get_job(job_id)  # a held job reads as SCHEDULED: not delivered
        return info is not None and info.status is not JobStatus.SCHEDULED


def _due_job(held: HeldJob) -> NewJob:
    job = held.job
    job.scheduled_at = held.scheduled_at
    return job
