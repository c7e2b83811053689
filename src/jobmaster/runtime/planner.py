"""The planner: turns active schedules into jobs, one per slot, a window ahead.

Exactly once per slot rests on two layers:

1. **the slot table** - before a slot's job is enqueued, its ``(schedule_id, slot_at)`` row is
   inserted; the unique key lets exactly one inserter win, whatever number of planners race
   (leadership lost mid-pass, clocks apart, a split brain). Only the winner enqueues.
2. **deterministic job ids and keys** - the job id is uuid5(schedule, slot) and its idempotency
   key names the slot, so even re-enqueuing a slot (crash recovery) cannot create a second job.

The leader lease (a row on the master, expiry by the database clock) only saves work: one
process plans while the others wait, and a dead leader is replaced after ``lease_ttl``.
Schedule rows are updated with a version check, so a user's pause and a planner pass never
overwrite each other; a pass that lost that race withdraws the jobs it just enqueued.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..abc import AgentTransport, MasterStore
from ..model import JobStatus
from ..recurring.jobs import find_live, slot_job, withdraw_future_jobs
from ..recurring.planning import PlanWindow, plan_slots
from ..recurring.records import (
    ScheduleQuery,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
    slot_job_id,
)
from .loop import PeriodicLoop

LEASE_NAME = "planner"


@dataclass(frozen=True, slots=True)
class PlannerConfig:
    """Planner settings. ``window``: how far ahead jobs are created (default 10 min);
    ``grace``: a slot later than this when first planned is a misfire; ``overlap_lead``: how
    long before its slot the job of a non-overlapping schedule is created; ``retire_after``:
    a static schedule no live process declared for this long is retired; ``slot_retention``:
    slot rows older than this are deleted; ``recover_after``: a slot recorded but not enqueued
    for this long (its planner died in between) is enqueued again."""

    interval: timedelta = timedelta(seconds=1)
    window: timedelta = timedelta(minutes=10)
    grace: timedelta = timedelta(seconds=5)
    overlap_lead: timedelta = timedelta(seconds=1)
    lease_ttl: timedelta = timedelta(seconds=15)
    retire_after: timedelta = timedelta(minutes=10)
    slot_retention: timedelta = timedelta(days=1)
    recover_after: timedelta = timedelta(seconds=30)
    max_slots_per_pass: int = 5000
    #: False only in tests that prove the slot table alone prevents duplicates.
    require_lease: bool = True


@dataclass(slots=True)
class PlanResult:
    """What one pass did."""

    leader: bool = False
    schedules: int = 0
    created: int = 0
    skipped: int = 0
    missed: int = 0
    completed: int = 0
    retired: list[str] = field(default_factory=list)
    more: bool = False


class Planner(PeriodicLoop[PlanResult]):
    """Plans every active schedule under the leader lease. See the module docstring."""

    name = "planner"

    def __init__(
        self,
        master: MasterStore,
        agents: Sequence[AgentTransport],
        *,
        config: PlannerConfig | None = None,
        owner: str | None = None,
    ) -> None:
        self.config = config or PlannerConfig()
        super().__init__(self.config.interval.total_seconds())
        self.master = master
        self.agents = list(agents)
        self.owner = owner or f"planner-{uuid.uuid4().hex[:12]}"
        self.token: str | None = None
        self.passes = 0
        self._window = PlanWindow(self.config.window, self.config.grace,
                                  self.config.max_slots_per_pass)

    async def run_once(self, now: datetime | None = None) -> PlanResult:
        """One pass: keep or take the lease, then plan every active schedule. ``now`` (tests)
        replaces the database clock for the slot arithmetic."""
        result = PlanResult()
        if self.config.require_lease and not await self._lead():
            return result
        result.leader = True
        now = now or await self.master.now()
        self.passes += 1
        result.retired = await self.master.retire_undeclared(self.config.retire_after)
        recover = self.passes % 30 == 1
        after: str | None = None
        while True:
            page = await self.master.list_schedules(
                ScheduleQuery(status=ScheduleStatus.ACTIVE, after_id=after, limit=500))
            for record in page:
                await self.plan_schedule(record, now, result)
                if recover:
                    await self.recover(record)
            if len(page) < 500:
                break
            after = page[-1].id
        if self.passes % 600 == 1:
            await self.master.trim_slots(now - self.config.slot_retention)
        return result

    def busy(self, result: PlanResult) -> bool:
        return result.more

    async def stop(self) -> None:
        """Stop and hand the lease over at once."""
        await super().stop()
        if self.token is not None:
            try:
                await self.master.release_leader(LEASE_NAME, self.token)
            except Exception as exc:  # the lease simply expires
                self.log.warning("could not release the planner lease: %s", exc)
            self.token = None

    async def _lead(self) -> bool:
        ttl = self.config.lease_ttl
        if self.token is not None and await self.master.renew_leader(LEASE_NAME, self.token, ttl):
            return True
        self.token = await self.master.acquire_leader(LEASE_NAME, self.owner, ttl)
        return self.token is not None

    # -- one schedule -----------------------------------------------------------------------
    async def plan_schedule(
        self, record: ScheduleRecord, now: datetime, result: PlanResult | None = None
    ) -> ScheduleRecord | None:
        """Create the due slots of one schedule. Returns the schedule as updated, or None when
        it was not planned (not active, or changed concurrently: the next pass retries)."""
        result = result if result is not None else PlanResult()
        if record.status is not ScheduleStatus.ACTIVE:
            return None
        horizon = None if record.allow_overlap else now + self.config.overlap_lead
        plan = plan_slots(record, now, self._window, horizon=horizon)
        slots = plan.slots if record.allow_overlap else plan.slots[:1]
        planned_until = slots[-1][0] if slots and not record.allow_overlap else plan.planned_until
        skipped = await self._overlapping(record, now) if slots else False
        last_job = record.last_job_id
        if slots and not skipped:
            last_job = slot_job_id(record.id, slots[-1][0], record.generation)
        ended = plan.ended and (record.allow_overlap or len(plan.slots) <= 1)
        if not slots and not plan.missed and not ended and planned_until == record.planned_until \
                and plan.next_run_at == record.next_run_at:
            return record  # nothing new within the window: no write
        # Slots first: a crash after this leaves PLANNED rows that recover() enqueues, while a
        # crash after advancing planned_until first would lose the slots.
        outcome = SlotOutcome.SKIPPED if skipped else SlotOutcome.PLANNED
        won = await self.master.insert_slots([
            SlotRecord(record.id, slot_at, None if skipped else slot_job_id(
                record.id, slot_at, record.generation), outcome) for slot_at, _ in slots])
        mine = [slot for slot, new in zip(slots, won, strict=True) if new]
        updated = await self.master.update_schedule(record.changed(
            planned_until=planned_until, next_run_at=plan.next_run_at, last_job_id=last_job,
            missed_count=record.missed_count + plan.missed,
            skipped_count=record.skipped_count + (len(mine) if skipped else 0),
            status=ScheduleStatus.COMPLETED if ended else record.status))
        if updated is None:
            # Another planner advanced it (then our won slots are still ours to enqueue), or a
            # user paused, cancelled or changed it (then they are withdrawn, never enqueued).
            updated = await self.master.get_schedule(record.id)
            if updated is None or updated.status is not ScheduleStatus.ACTIVE:
                if mine and not skipped:
                    await self.master.delete_slots(record.id, [s for s, _ in mine])
                return None
        else:
            result.schedules += 1
            result.missed += plan.missed
            result.completed += int(ended)
            result.more = result.more or plan.more
        if skipped:
            result.skipped += len(mine)
        elif mine:
            await self.agents[0].enqueue([slot_job(record, slot_at, due) for slot_at, due in mine])
            await self.master.set_slot_outcome(record.id, [s for s, _ in mine],
                                               SlotOutcome.ENQUEUED)
            result.created += len(mine)
            await self._verify_still_active(updated, now)
        return updated

    async def _overlapping(self, record: ScheduleRecord, now: datetime) -> bool:
        """allow_overlap=False: the previous job is running, or still waiting more than
        ``overlap_lead`` after its due time (no worker free for it)."""
        if record.allow_overlap or record.last_job_id is None:
            return False
        live = await find_live(self.agents, record.last_job_id)
        if live is None:
            return False
        return live.status is JobStatus.PROCESSING or (
            live.status is JobStatus.QUEUED
            and live.scheduled_at <= now - self.config.overlap_lead)

    async def _verify_still_active(self, planned: ScheduleRecord, now: datetime) -> None:
        """A pause or cancel that landed while this pass enqueued: withdraw what it added."""
        current = await self.master.get_schedule(planned.id)
        if current is None or current.status in (ScheduleStatus.ACTIVE, ScheduleStatus.COMPLETED):
            return
        await withdraw_future_jobs(self.master, self.agents, planned.id, now,
                                   forget=current.status is ScheduleStatus.PAUSED)

    async def recover(self, record: ScheduleRecord) -> int:
        """Enqueue again the slots whose planner died between recording and enqueuing them.
        The job's idempotency key is checked on the master (finished jobs) and by the agent
        (in-flight and unsynced jobs), so a slot whose job did get through is not run twice."""
        db_now = await self.master.now()  # created_at is stamped by the store's clock
        stale = [s for s in await self.master.list_slots(record.id, outcome=SlotOutcome.PLANNED)
                 if s.created_at is not None and s.created_at < db_now - self.config.recover_after]
        recovered = []
        for slot in stale:
            job = slot_job(record, slot.slot_at, slot.slot_at, slot.job_id)
            assert job.idempotency_key is not None
            if await self.master.find_idempotent(job.idempotency_key) is None:
                await self.agents[0].enqueue([job])
            recovered.append(slot.slot_at)
        if recovered:
            await self.master.set_slot_outcome(record.id, recovered, SlotOutcome.ENQUEUED)
        return len(recovered)
