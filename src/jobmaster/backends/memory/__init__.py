"""In-process memory backend: master and agent for tests and the eager test kit.

It follows the contracts exactly (leases, fencing, outbox, idempotency) and runs through the same
conformance suite as the database backends. State lives in a :class:`MemorySpace` shared by every
store opened with the same name in one process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ...abc import AgentTransport, Capabilities, LeaseExtension, MasterStore, SchemaState, WakeUp
from ...config import BackendSpec
from ...model import (
    AgentRecord,
    Attempt,
    AttemptOutcome,
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    EnqueueResult,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    LeaseRef,
    LogEntry,
    LogQuery,
    NewJob,
    RescueResult,
    WorkerRecord,
)
from .._common import (
    DEAD_AFTER,
    decode_bag,
    info_from_event,
    log_matches,
    outcome_to_status,
    select_page,
)
from ._held import HeldSpace, MemoryHeld
from ._schedules import MemorySchedules, ScheduleSpace

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine clock, as an aware UTC datetime."""
    return datetime.fromtimestamp(time.time(), UTC)


@dataclass(slots=True)
class _Row:
    job: NewJob
    scheduled_at: datetime
    created_at: datetime
    status: JobStatus = JobStatus.QUEUED
    attempt: int = 0
    version: int = 1
    lease_owner: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    started_at: datetime | None = None
    cancel_requested: bool = False
    last_error: str | None = None


@dataclass(slots=True)
class _MasterJob:
    event: JobEvent


@dataclass(slots=True)
class MemorySpace:
    """The shared state of one named memory cluster."""

    jobs: dict[str, _Row] = field(default_factory=dict)
    outbox: list[JobEvent] = field(default_factory=list)
    next_seq: int = 1
    master_jobs: dict[str, _MasterJob] = field(default_factory=dict)
    attempts: dict[tuple[str, int], tuple[int, Attempt]] = field(default_factory=dict)
    workers: dict[str, WorkerRecord] = field(default_factory=dict)
    listeners: list[tuple[asyncio.AbstractEventLoop, WakeUp]] = field(default_factory=list)
    schedules: ScheduleSpace = field(default_factory=ScheduleSpace)
    held: HeldSpace = field(default_factory=HeldSpace)
    logs: list[LogEntry] = field(default_factory=list)
    agents: dict[str, AgentRecord] = field(default_factory=dict)


_SPACES: dict[str, MemorySpace] = {}

MEMORY_CAPABILITIES = Capabilities(
    name="memory",
    listen_notify=True,
    skip_locked=True,
    colocated_sync=False,
    multi_process=False,
    held_jobs=True,
    purge_history=True,
    log_store=True,
    agent_registry=True,
    recurring_schedules=True,
)


def memory_space(name: str) -> MemorySpace:
    """The state shared by stores opened with ``name`` (created on first use)."""
    return _SPACES.setdefault(name, MemorySpace())


def reset_memory_space(name: str) -> None:
    """Forget everything stored under ``name`` (tests)."""
    _SPACES.pop(name, None)


class _MemoryStore:
    capabilities = MEMORY_CAPABILITIES

    def __init__(self, name: str = "default", *, clock: Clock = system_clock) -> None:
        self.location = f"memory:{name}"
        self.space = memory_space(name)
        self.clock = clock

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def schema_state(self) -> SchemaState:
        return SchemaState(1, 1)

    async def migrate(self) -> list[int]:
        return []

    async def now(self) -> datetime:
        return self.clock()


class MemoryAgent(_MemoryStore, AgentTransport):
    """Agent transport in process memory."""

    def __init__(
        self, name: str = "default", *, agent_name: str = "standalone", clock: Clock = system_clock
    ) -> None:
        super().__init__(name, clock=clock)
        self.agent_name = agent_name

    # -- helpers ----------------------------------------------------------------------------
    def _event(
        self,
        row: _Row,
        status: JobStatus,
        attempt: Attempt | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        job = row.job
        self.space.outbox.append(
            JobEvent(
                seq=self.space.next_seq,
                job_id=job.id,
                version=row.version,
                status=status,
                definition_id=job.definition_id,
                lane=job.lane,
                priority=job.priority,
                scheduled_at=row.scheduled_at,
                created_at=row.created_at,
                msg_data=job.msg_data,
                metadata=job.metadata,
                attempt_count=row.attempt,
                max_retries=job.max_retries,
                timeout_ms=job.timeout_ms,
                idempotency_key=job.idempotency_key,
                schedule_id=job.schedule_id,
                trigger=job.trigger,
                last_error=row.last_error,
                finished_at=finished_at,
                agent=self.agent_name,
                attempt=attempt,
            )
        )
        self.space.next_seq += 1

    def _pending_key(self, key: str) -> str | None:
        for row in self.space.jobs.values():
            if row.job.idempotency_key == key:
                return row.job.id
        for event in self.space.outbox:
            if event.idempotency_key == key:
                return event.job_id
        return None

    def _notify(self) -> None:
        for loop, wake_up in list(self.space.listeners):
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(wake_up)

    def _held(self, ref: LeaseRef) -> _Row | None:
        row = self.space.jobs.get(ref.job_id)
        if row is None or row.status is not JobStatus.PROCESSING:
            return None
        return row if row.lease_token == ref.lease_token else None

    # -- contract ---------------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        now = self.clock()
        results: list[EnqueueResult] = []
        for job in jobs:
            existing = self._pending_key(job.idempotency_key) if job.idempotency_key else None
            if existing is not None:
                results.append(EnqueueResult(existing, False))
                continue
            if job.id in self.space.jobs:
                results.append(EnqueueResult(job.id, False))
                continue
            row = _Row(job=job, scheduled_at=job.scheduled_at or now, created_at=now)
            self.space.jobs[job.id] = row
            results.append(EnqueueResult(job.id, True))
        self._notify()
        return results

    async def claim(
        self,
        worker_id: str,
        *,
        lanes: Sequence[str] | None,
        definitions: Sequence[str],
        limit: int,
        lease: timedelta,
    ) -> list[ClaimedJob]:
        now = self.clock()
        wanted = set(definitions)
        lane_set = set(lanes) if lanes is not None else None
        ready = [
            row
            for row in self.space.jobs.values()
            if row.status is JobStatus.QUEUED
            and row.scheduled_at <= now
            and row.job.definition_id in wanted
            and (lane_set is None or row.job.lane in lane_set)
        ]
        ready.sort(key=lambda r: (-r.job.priority, r.scheduled_at, r.job.id))
        claimed: list[ClaimedJob] = []
        for row in ready[:limit]:
            row.status = JobStatus.PROCESSING
            row.attempt += 1
            row.version += 1
            row.lease_owner = worker_id
            row.lease_token = uuid.uuid4().hex
            row.lease_expires_at = now + lease
            row.started_at = now
            claimed.append(_claimed(row))
        return claimed

    async def extend_leases(
        self, worker_id: str, leases: Sequence[LeaseRef], lease: timedelta
    ) -> LeaseExtension:
        now = self.clock()
        held: set[str] = set()
        cancel: set[str] = set()
        for ref in leases:
            row = self._held(ref)
            if row is None:
                continue
            row.lease_expires_at = now + lease
            held.add(ref.job_id)
            if row.cancel_requested:
                cancel.add(ref.job_id)
        return LeaseExtension(frozenset(held), frozenset(cancel))

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        now = self.clock()
        accepted: set[str] = set()
        for result in results:
            row = self._held(LeaseRef(result.job_id, result.lease_token))
            if row is None:
                continue
            accepted.add(result.job_id)
            row.version += 1
            attempt = Attempt(
                number=row.attempt,
                started_at=result.started_at,
                finished_at=result.finished_at,
                worker_id=result.worker_id,
                outcome=result.outcome,
                error=result.error,
                traceback=result.traceback,
            )
            if result.error is not None:
                row.last_error = result.error
            if result.retry_delay is not None:
                row.status = JobStatus.QUEUED
                row.scheduled_at = now + result.retry_delay
                row.lease_owner = row.lease_token = row.lease_expires_at = None
                self._event(row, JobStatus.QUEUED, attempt)
                continue
            del self.space.jobs[result.job_id]
            self._event(row, outcome_to_status(result.outcome), attempt, finished_at=now)
        if any(r.retry_delay is not None for r in results):
            self._notify()
        return accepted

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        released = 0
        for ref in leases:
            row = self._held(ref)
            if row is None:
                continue
            row.status = JobStatus.QUEUED
            row.attempt -= 1
            row.version += 1
            row.lease_owner = row.lease_token = row.lease_expires_at = None
            released += 1
        if released:
            self._notify()
        return released

    async def cancel(self, job_id: str) -> CancelOutcome:
        row = self.space.jobs.get(job_id)
        if row is None:
            return CancelOutcome.NOT_FOUND
        if row.status is JobStatus.PROCESSING:
            row.cancel_requested = True
            return CancelOutcome.REQUESTED
        row.version += 1
        del self.space.jobs[job_id]
        self._event(row, JobStatus.CANCELLED, finished_at=self.clock())
        return CancelOutcome.CANCELLED

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        row = self.space.jobs.get(job_id)
        if row is None or row.status is not JobStatus.QUEUED:
            return False
        row.scheduled_at = when
        row.version += 1
        self._notify()
        return True

    async def retry_now(self, job_id: str) -> bool:
        return await self.reschedule(job_id, self.clock())

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        now = self.clock()
        expired = [
            row
            for row in self.space.jobs.values()
            if row.status is JobStatus.PROCESSING
            and row.lease_expires_at is not None
            and row.lease_expires_at < now
        ][:limit]
        requeued = failed = 0
        for row in expired:
            row.version += 1
            exhausted = row.attempt > row.job.max_retries
            error = max_attempts_reason if exhausted else "lease expired: worker lost"
            attempt = Attempt(
                number=row.attempt,
                started_at=row.started_at or now,
                finished_at=now,
                worker_id=row.lease_owner,
                outcome=AttemptOutcome.ABANDONED,
                error=error,
            )
            row.last_error = error
            if exhausted:
                del self.space.jobs[row.job.id]
                self._event(row, JobStatus.FAILED, attempt, finished_at=now)
                failed += 1
            else:
                row.status = JobStatus.QUEUED
                row.scheduled_at = now
                row.lease_owner = row.lease_token = row.lease_expires_at = None
                self._event(row, JobStatus.QUEUED, attempt)
                requeued += 1
        if requeued:
            self._notify()
        return RescueResult(requeued=requeued, failed=failed)

    async def get_job(self, job_id: str) -> JobInfo | None:
        row = self.space.jobs.get(job_id)
        if row is not None:
            return _live_info(row, self.agent_name)
        pending = [e for e in self.space.outbox if e.job_id == job_id and e.status.is_final]
        return info_from_event(pending[-1], _own_attempt(pending[-1])) if pending else None

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return select_page((_live_info(row, self.agent_name) for row in self.space.jobs.values()),
                           query)

    async def next_due_in(
        self, definitions: Sequence[str], lanes: Sequence[str] | None
    ) -> timedelta | None:
        now, wanted = self.clock(), set(definitions)
        due = [row.scheduled_at for row in self.space.jobs.values()
               if row.status is JobStatus.QUEUED and row.scheduled_at > now
               and row.job.definition_id in wanted and (lanes is None or row.job.lane in lanes)]
        return min(due) - now if due else None

    async def read_outbox(self, limit: int) -> list[JobEvent]:
        return list(self.space.outbox[:limit])

    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        before = len(self.space.outbox)
        done = set(seqs)
        self.space.outbox = [e for e in self.space.outbox if e.seq not in done]
        return before - len(self.space.outbox)

    async def queue_depth(self) -> dict[str, int]:
        depth: dict[str, int] = {}
        for row in self.space.jobs.values():
            if row.status is JobStatus.QUEUED:
                depth[row.job.lane] = depth.get(row.job.lane, 0) + 1
        return depth

    async def listen(self, wake_up: WakeUp) -> None:
        self.space.listeners.append((asyncio.get_running_loop(), wake_up))


def _own_attempt(event: JobEvent) -> list[Attempt]:
    return [event.attempt] if event.attempt is not None else []


def _claimed(row: _Row) -> ClaimedJob:
    job = row.job
    assert row.lease_token is not None and row.lease_expires_at is not None
    return ClaimedJob(
        id=job.id,
        definition_id=job.definition_id,
        lane=job.lane,
        priority=job.priority,
        scheduled_at=row.scheduled_at,
        created_at=row.created_at,
        msg_data=job.msg_data,
        metadata=job.metadata,
        attempt=row.attempt,
        max_retries=job.max_retries,
        timeout_ms=job.timeout_ms,
        backoff=job.backoff,
        lease_token=row.lease_token,
        lease_expires_at=row.lease_expires_at,
        schedule_id=job.schedule_id,
        trigger=job.trigger,
    )


def _live_info(row: _Row, agent: str) -> JobInfo:
    from ...messages import MessageData, Metadata

    job = row.job
    attempts = []
    if row.status is JobStatus.PROCESSING and row.started_at is not None:
        attempts.append(
            Attempt(row.attempt, row.started_at, None, row.lease_owner, AttemptOutcome.RUNNING)
        )
    return JobInfo(
        id=job.id,
        status=row.status,
        definition_id=job.definition_id,
        lane=job.lane,
        priority=job.priority,
        scheduled_at=row.scheduled_at,
        created_at=row.created_at,
        msg_data=decode_bag(MessageData, job.msg_data),
        metadata=decode_bag(Metadata, job.metadata),
        attempts=attempts,
        attempt_count=row.attempt,
        max_retries=job.max_retries,
        last_error=row.last_error,
        schedule_id=job.schedule_id,
        agent=agent,
        trigger=job.trigger,
        idempotency_key=job.idempotency_key,
        cancel_requested=row.cancel_requested,
    )


class MemoryMaster(MemoryHeld, MemorySchedules, _MemoryStore, MasterStore):
    """Master store in process memory."""

    def __init__(self, name: str = "default", *, clock: Clock = system_clock) -> None:
        super().__init__(name, clock=clock)
        self.schedule_space = self.space.schedules
        self.held_space = self.space.held

    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        for event in events:
            if event.attempt is not None:
                known = self.space.attempts.get((event.job_id, event.attempt.number))
                if known is None or known[0] < event.version:
                    self.space.attempts[(event.job_id, event.attempt.number)] = (
                        event.version, event.attempt)
            if not event.status.is_final:
                continue
            entry = self.space.master_jobs.get(event.job_id)
            if entry is None or event.version > entry.event.version:
                self.space.master_jobs[event.job_id] = _MasterJob(event)

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        found = [(n, a) for (j, n), (_, a) in self.space.attempts.items() if j == job_id]
        return [a for _, a in sorted(found, key=lambda item: item[0])]

    async def get_job(self, job_id: str) -> JobInfo | None:
        entry = self.space.master_jobs.get(job_id)
        if entry is None:
            return self.held_info(job_id)
        return info_from_event(entry.event, await self.get_attempts(job_id))

    async def list_jobs(self, query: JobQuery) -> JobPage:
        history = [info_from_event(e.event, []) for e in self.space.master_jobs.values()]
        page = select_page(history + self.held_infos(), query)
        for info in page.items:  # like the SQL masters: list items carry their attempts
            info.attempts = await self.get_attempts(info.id)
        return page

    async def find_idempotent(self, key: str) -> str | None:
        return self._known_key(key)

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        cutoff = self.clock() - older_than
        old = sorted((e.event.finished_at, job_id) for job_id, e in self.space.master_jobs.items()
                     if e.event.finished_at is not None and e.event.finished_at < cutoff)[:limit]
        self.space.logs = [entry for entry in self.space.logs if entry.at >= cutoff]
        for _, job_id in old:
            del self.space.master_jobs[job_id]
            for key in [k for k in self.space.attempts if k[0] == job_id]:
                del self.space.attempts[key]
        return len(old)

    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        now = self.clock()
        for agent in agents:
            known = self.space.agents.get(agent.name)
            first = known.first_seen if known is not None else now
            self.space.agents[agent.name] = replace(agent, first_seen=first, last_seen=now)

    async def list_agents(self) -> list[AgentRecord]:
        return [self.space.agents[name] for name in sorted(self.space.agents)]

    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        self.space.logs.extend(entries)

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        found = [entry for entry in reversed(self.space.logs) if log_matches(entry, query)]
        return found[: query.limit]

    def _known_ids(self) -> set[str]:
        return set(self.space.master_jobs)

    def _known_key(self, key: str) -> str | None:
        for entry in self.space.master_jobs.values():
            if entry.event.idempotency_key == key:
                return entry.event.job_id
        for held in self.held_space.jobs.values():
            if held.job.idempotency_key == key:
                return held.job.id
        return None

    def _record_final(self, event: JobEvent) -> None:
        self.space.master_jobs[event.job_id] = _MasterJob(event)

    async def register_worker(self, worker: WorkerRecord) -> None:
        self.space.workers[worker.id] = replace(worker, last_heartbeat=self.clock())

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        now = self.clock()
        for worker_id, count in in_flight.items():
            worker = self.space.workers.get(worker_id)
            if worker is not None:
                self.space.workers[worker_id] = replace(worker, last_heartbeat=now, in_flight=count)

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        worker = self.space.workers.get(worker_id)
        if worker is not None:
            self.space.workers[worker_id] = replace(worker, status=status)

    async def list_workers(self) -> list[WorkerRecord]:
        now = self.clock()
        return [
            replace(w, status="dead")
            if w.status == "active" and now - w.last_heartbeat > DEAD_AFTER
            else w
            for w in self.space.workers.values()
        ]


def make_master(spec: BackendSpec) -> MemoryMaster:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return MemoryMaster(spec.target)


def make_agent(spec: BackendSpec, agent_name: str, role: str,
               colocated_master: bool = False) -> MemoryAgent:
    """Factory hook used by :mod:`jobmaster.backends.factory`."""
    return MemoryAgent(spec.target, agent_name=agent_name)


__all__ = [
    "MEMORY_CAPABILITIES",
    "MemoryAgent",
    "MemoryMaster",
    "MemorySpace",
    "memory_space",
    "reset_memory_space",
    "system_clock",
]
