"""Held jobs of the memory master (SCHEDULED until promoted), same semantics as the SQL ones."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...model import EnqueueResult, HeldJob, JobEvent, JobInfo, JobStatus, NewJob
from .._common import info_from_event


@dataclass(slots=True)
class _Held:
    job: NewJob
    scheduled_at: datetime
    created_at: datetime
    token: str | None = None
    until: datetime | None = None
    takes: int = 0


@dataclass(slots=True)
class HeldSpace:
    """Held jobs of one memory cluster."""

    jobs: dict[str, _Held] = field(default_factory=dict)


def held_event(held: _Held, status: JobStatus, finished_at: datetime | None = None) -> JobEvent:
    """A snapshot of a held job (for views, or for the history when it is cancelled)."""
    job = held.job
    return JobEvent(
        seq=0, job_id=job.id, version=1, status=status, definition_id=job.definition_id,
        lane=job.lane, priority=job.priority, scheduled_at=held.scheduled_at,
        created_at=held.created_at, msg_data=job.msg_data, metadata=job.metadata,
        attempt_count=0, max_retries=job.max_retries, timeout_ms=job.timeout_ms,
        idempotency_key=job.idempotency_key, schedule_id=job.schedule_id, trigger=job.trigger,
        last_error=None, finished_at=finished_at, agent="",
    )


class MemoryHeld:
    """Mixin of :class:`~jobmaster.backends.memory.MemoryMaster`."""

    clock: Callable[[], datetime]
    held_space: HeldSpace

    def _known_ids(self) -> set[str]:
        raise NotImplementedError

    def _known_key(self, key: str) -> str | None:
        raise NotImplementedError

    def _record_final(self, event: JobEvent) -> None:
        raise NotImplementedError

    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        now = self.clock()
        known = self._known_ids()
        results: list[EnqueueResult] = []
        for job in jobs:
            holder = self._known_key(job.idempotency_key) if job.idempotency_key else None
            if holder is not None or job.id in known or job.id in self.held_space.jobs:
                results.append(EnqueueResult(holder or job.id, False))
                continue
            self.held_space.jobs[job.id] = _Held(job, job.scheduled_at or now, now)
            results.append(EnqueueResult(job.id, True))
        return results

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        now = self.clock()
        due = sorted(
            (h for h in self.held_space.jobs.values()
             if h.scheduled_at <= now + due_within and (h.until is None or h.until < now)),
            key=lambda h: (h.scheduled_at, h.job.id),
        )[:limit]
        taken = []
        for held in due:
            held.token, held.until, held.takes = uuid.uuid4().hex, now + lease, held.takes + 1
            taken.append(HeldJob(held.job, held.scheduled_at, held.created_at, held.token,
                                 retaken=held.takes > 1))
        return taken

    async def finish_held(self, tokens: dict[str, str]) -> int:
        done = [i for i, t in tokens.items() if self._holds(i, t)]
        for job_id in done:
            del self.held_space.jobs[job_id]
        return len(done)

    async def release_held(self, tokens: dict[str, str]) -> int:
        released = [i for i, t in tokens.items() if self._holds(i, t)]
        for job_id in released:
            held = self.held_space.jobs[job_id]
            held.token = held.until = None
        return len(released)

    async def cancel_held(self, job_id: str) -> bool:
        held = self.held_space.jobs.get(job_id)
        if held is None or (held.until is not None and held.until >= self.clock()):
            return False
        del self.held_space.jobs[job_id]
        self._record_final(held_event(held, JobStatus.CANCELLED, self.clock()))
        return True

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        held = self.held_space.jobs.get(job_id)
        if held is None or (held.until is not None and held.until >= self.clock()):
            return False
        held.scheduled_at = when
        return True

    def held_info(self, job_id: str) -> JobInfo | None:
        """A held job as SCHEDULED, or None."""
        held = self.held_space.jobs.get(job_id)
        return None if held is None else info_from_event(held_event(held, JobStatus.SCHEDULED), [])

    def held_infos(self) -> list[JobInfo]:
        """Every held job, as SCHEDULED."""
        return [info_from_event(held_event(h, JobStatus.SCHEDULED), [])
                for h in self.held_space.jobs.values()]

    def _holds(self, job_id: str, token: str) -> bool:
        held = self.held_space.jobs.get(job_id)
        return held is not None and held.token == token
