"""The rescuer: returns jobs whose lease expired (their worker died or hung) to the queue."""

from __future__ import annotations

import time

from ..abc import AgentTransport
from ..model import RescueResult
from .loop import PeriodicLoop

WORKER_LOST = "worker_lost: the worker stopped renewing its lease on the last attempt"


class Rescuer(PeriodicLoop[RescueResult]):
    """Rescues expired leases of one agent.

    After a failed pass (the database was unreachable) it waits ``grace`` seconds of healthy
    operation before rescuing again: leases that "expired" only because nobody could renew them
    during the outage get a chance to be renewed first.
    """

    name = "rescuer"

    def __init__(
        self, agent: AgentTransport, *, interval: float, grace: float, batch_size: int = 1000
    ) -> None:
        super().__init__(interval)
        self.agent = agent
        self.grace = grace
        self.batch_size = batch_size
        self._healthy_since: float | None = 0.0

    async def run_once(self) -> RescueResult:
        """Rescue one batch of expired leases (nothing during the post-outage grace period)."""
        try:
            await self.agent.now()
        except Exception:
            self._healthy_since = None
            raise
        now = time.monotonic()
        if self._healthy_since is None:
            self._healthy_since = now
        if self._healthy_since and now - self._healthy_since < self.grace:
            return RescueResult()
        return await self.agent.rescue_expired(
            limit=self.batch_size, max_attempts_reason=WORKER_LOST
        )

    def busy(self, result: RescueResult) -> bool:
        return result.requeued + result.failed >= self.batch_size
