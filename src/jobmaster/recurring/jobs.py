"""From slots to jobs and back: building a slot's job, and withdrawing jobs not yet started."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..abc import AgentTransport, MasterStore
from ..model import CancelOutcome, JobInfo, JobStatus, NewJob, TriggerSource
from .records import (
    ScheduleKind,
    ScheduleRecord,
    SlotOutcome,
    slot_idempotency_key,
    slot_job_id,
)


def slot_job(record: ScheduleRecord, slot_at: datetime, due_at: datetime,
             job_id: str | None = None) -> NewJob:
    """The job of one slot: deterministic id and idempotency key, settings from the record."""
    job_id = job_id or slot_job_id(record.id, slot_at, record.generation)
    trigger = (TriggerSource.STATIC_RECURRING if record.kind is ScheduleKind.STATIC
               else TriggerSource.DYNAMIC_RECURRING)
    return NewJob(
        id=job_id,
        definition_id=record.definition_id,
        lane=record.lane,
        priority=record.priority,
        scheduled_at=due_at,
        msg_data=record.msg_data,
        metadata=record.metadata,
        max_retries=record.max_retries,
        timeout_ms=record.timeout_ms,
        backoff=record.backoff,
        idempotency_key=slot_idempotency_key(job_id),
        schedule_id=record.id,
        trigger=trigger,
    )


async def find_live(agents: Sequence[AgentTransport], job_id: str) -> JobInfo | None:
    """The in-flight view of a job on whichever agent holds it."""
    for agent in agents:
        found = await agent.get_job(job_id)
        if found is not None:
            return found
    return None


async def withdraw_future_jobs(
    master: MasterStore,
    agents: Sequence[AgentTransport],
    schedule_id: str,
    now: datetime,
    *,
    forget: bool,
) -> int:
    """Cancel the queued jobs of a schedule's slots later than ``now`` (running jobs are left
    alone). With ``forget`` the slots of the cancelled jobs are deleted so they can be planned
    again (resume, change of expression): a job that was cancelled never ran, so planning its
    slot again cannot run that slot twice. Returns the number of jobs cancelled."""
    slots = await master.list_slots(schedule_id, after=now, outcome=SlotOutcome.ENQUEUED,
                                    limit=100_000)
    slots += await master.list_slots(schedule_id, after=now, outcome=SlotOutcome.PLANNED,
                                     limit=100_000)
    withdrawn: list[datetime] = []
    for slot in slots:
        if slot.job_id is None:
            continue
        live = await find_live(agents, slot.job_id)
        if live is None or live.status is not JobStatus.QUEUED:
            continue
        for agent in agents:
            if await agent.cancel(slot.job_id) is CancelOutcome.CANCELLED:
                withdrawn.append(slot.slot_at)
                break
    if forget and withdrawn:
        await master.delete_slots(schedule_id, withdrawn)
    return len(withdrawn)
