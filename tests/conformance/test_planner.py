"""The planner on every backend: exactly one job per slot with racing planners (F13), misfire
policies after downtime (F14), overlap, end of schedule, crash recovery. Time is simulated:
``run_once(now=...)`` replaces the database clock for the slot arithmetic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobmaster.abc import MasterStore
from jobmaster.backends.factory import make_agent, make_master
from jobmaster.model import JobQuery
from jobmaster.recurring.records import (
    Misfire,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
    slot_job_id,
)
from jobmaster.runtime.planner import Planner, PlannerConfig

from .conftest import Stores
from .test_agent import result
from .test_schedules import record

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _implemented(stores: Stores) -> None:
    if not stores.master.capabilities.recurring_schedules:
        pytest.skip(f"{stores.kind}: schedule storage not implemented yet")


async def schedule(stores: Stores, **changes: Any) -> ScheduleRecord:
    options: dict[str, Any] = {"misfire": Misfire.SKIP, "allow_overlap": True,
                                  "end_before": None, "start_after": T0}
    options.update(changes)
    new = record(**options)
    assert await stores.master.insert_schedule(new)
    return new


async def queued_slots(stores: Stores, schedule_id: str) -> list[datetime]:
    jobs, cursor = [], None
    while True:
        page = await stores.agent.list_jobs(JobQuery(schedule_id=schedule_id, limit=1000,
                                                     cursor=cursor))
        jobs.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len({j.id for j in jobs}) == len(jobs)
    return sorted(j.scheduled_at for j in jobs)


def planner(stores: Stores, *, window: float = 5, lease: bool = True,
            master: MasterStore | None = None) -> Planner:
    config = PlannerConfig(window=timedelta(seconds=window), require_lease=lease)
    return Planner(master or stores.master, [stores.agent], config=config)


@pytest.mark.parametrize("lease", [True, False], ids=["leader-lease", "no-lease-race"])
async def test_three_planners_create_every_slot_exactly_once(stores: Stores, lease: bool) -> None:
    """F13: three planners, each with its own store connections, plan a 1-second schedule
    concurrently for 10 simulated minutes. Without the lease they all race on every slot."""
    sched = await schedule(stores, expression_text="every 1 seconds")
    masters = [make_master(stores.spec) for _ in range(3)]
    agents = [make_agent(stores.agent_spec or stores.spec, stores.agent.agent_name)
              for _ in range(3)]
    for store in (*masters, *agents):
        await store.open()
    planners = [Planner(m, [a], config=PlannerConfig(window=timedelta(seconds=5),
                                                       require_lease=lease))
                for m, a in zip(masters, agents, strict=True)]
    try:
        for step in range(601):
            now = T0 + timedelta(seconds=step)
            results = await asyncio.gather(*(p.run_once(now=now) for p in planners))
            assert sum(r.leader for r in results) == (1 if lease else 3)
    finally:
        for store in (*masters, *agents):
            await store.close()
    expected = [T0 + timedelta(seconds=i) for i in range(606)]  # T0 .. T0 + 600 s + window
    assert await queued_slots(stores, sched.id) == expected
    slots = await stores.master.list_slots(sched.id, limit=10_000)
    assert [s.slot_at for s in slots] == expected
    assert {s.outcome for s in slots} == {SlotOutcome.ENQUEUED}


async def test_replanning_is_idempotent(stores: Stores) -> None:
    sched = await schedule(stores, expression_text="every 1 seconds")
    one = planner(stores)
    first = await one.run_once(now=T0)
    assert first.created == 6
    stored = await stores.master.get_schedule(sched.id)
    assert stored is not None
    # A stale copy of the schedule (another planner's view) plans nothing twice.
    again = await one.plan_schedule(sched.changed(version=stored.version), T0)
    assert again is not None
    assert await queued_slots(stores, sched.id) == [T0 + timedelta(seconds=i) for i in range(6)]


@pytest.mark.parametrize(("policy", "expected_missed"), [
    (Misfire.SKIP, 11), (Misfire.RUN_ONCE, 10), (Misfire.CATCH_UP, 8)])
async def test_misfire_after_downtime(stores: Stores, policy: Misfire,
                                      expected_missed: int) -> None:
    """F14: no planner ran for 10.5 minutes of a 1-minute schedule (slots T0 .. T0+10 min)."""
    sched = await schedule(stores, expression_text="every 1 minutes", misfire=policy,
                           catch_up_limit=3)
    now = T0 + timedelta(minutes=10, seconds=30)
    result = await planner(stores, window=120).run_once(now=now)
    future = [T0 + timedelta(minutes=11), T0 + timedelta(minutes=12)]
    due = await queued_slots(stores, sched.id)
    if policy is Misfire.SKIP:
        assert due == future
    elif policy is Misfire.RUN_ONCE:
        assert due == [now, *future]  # one job, due now, for the latest missed slot
        assert (await stores.agent.get_job(slot_job_id(sched.id, T0 + timedelta(minutes=10))))
    else:
        assert due == [T0 + timedelta(minutes=m) for m in (8, 9, 10)] + future
    stored = await stores.master.get_schedule(sched.id)
    assert stored is not None and stored.missed_count == expected_missed == result.missed


async def test_no_overlap_skips_a_slot_while_the_previous_job_runs(stores: Stores) -> None:
    if stores.kind.startswith("nats"):
        pytest.skip("the NATS in-flight view lags a completion by a few ms: timing-dependent")
    # In the past, so that the jobs are due by the agent's real clock and can be claimed.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sched = await schedule(stores, expression_text="every 1 seconds", allow_overlap=False,
                           start_after=start, planned_until=start - timedelta(microseconds=1))
    one = planner(stores)
    await one.run_once(now=start)  # plans start only (just in time)
    await one.run_once(now=start + timedelta(milliseconds=500))  # start + 1 s: start barely late
    claimed = await stores.agent.claim("w", lanes=None, definitions=["tests.tick"], limit=10,
                                       lease=timedelta(seconds=30))
    assert len(claimed) == 2  # both running now
    await one.run_once(now=start + timedelta(seconds=1, milliseconds=500))  # start + 2 s: skipped
    slots = await stores.master.list_slots(sched.id)
    assert [(s.slot_at - start).total_seconds() for s in slots] == [0, 1, 2]
    assert [s.outcome for s in slots] == [SlotOutcome.ENQUEUED, SlotOutcome.ENQUEUED,
                                          SlotOutcome.SKIPPED]
    stored = await stores.master.get_schedule(sched.id)
    assert stored is not None and stored.skipped_count == 1
    await stores.agent.finish([result(job) for job in claimed])
    await one.run_once(now=start + timedelta(seconds=2, milliseconds=500))  # start + 3 s: runs
    assert await queued_slots(stores, sched.id) == [start + timedelta(seconds=3)]


async def test_end_before_completes_the_schedule(stores: Stores) -> None:
    sched = await schedule(stores, expression_text="every 1 seconds",
                           end_before=T0 + timedelta(seconds=3))
    result = await planner(stores, window=60).run_once(now=T0)
    assert result.completed == 1
    assert await queued_slots(stores, sched.id) == [T0 + timedelta(seconds=i) for i in range(3)]
    stored = await stores.master.get_schedule(sched.id)
    assert stored is not None and stored.status is ScheduleStatus.COMPLETED
    assert stored.next_run_at == T0  # its last jobs are still to run


async def test_start_after_is_respected(stores: Stores) -> None:
    sched = await schedule(stores, expression_text="every 1 seconds",
                           start_after=T0 + timedelta(minutes=5))
    await planner(stores, window=60).run_once(now=T0)
    assert await queued_slots(stores, sched.id) == []
    stored = await stores.master.get_schedule(sched.id)
    assert stored is not None and stored.next_run_at == T0 + timedelta(minutes=5)


async def test_a_slot_recorded_but_never_enqueued_is_recovered(stores: Stores) -> None:
    """A planner died between recording a slot and enqueuing its job."""
    sched = await schedule(stores, expression_text="every 1 seconds")
    lost = T0 + timedelta(seconds=2)
    await stores.master.insert_slots([SlotRecord(sched.id, lost, slot_job_id(sched.id, lost),
                                                 SlotOutcome.PLANNED)])
    one = Planner(stores.master, [stores.agent],
                  config=PlannerConfig(window=timedelta(seconds=5),
                                       recover_after=timedelta(0)))
    await asyncio.sleep(0.01)
    await one.run_once(now=T0)
    assert await queued_slots(stores, sched.id) == [T0 + timedelta(seconds=i) for i in range(6)]
    assert await one.recover(sched) == 0  # nothing left, and nothing enqueued twice
    assert (await stores.agent.queue_depth())["default"] == 6


async def test_planner_lease_hands_over(stores: Stores) -> None:
    first, second = planner(stores), planner(stores)
    assert (await first.run_once(now=T0)).leader
    assert not (await second.run_once(now=T0)).leader
    await first.stop()  # releases the lease
    assert (await second.run_once(now=T0)).leader
    assert not (await first.run_once(now=T0)).leader


async def test_agent_tells_when_the_next_job_is_due(stores: Stores) -> None:
    """Idle workers sleep no longer than until the next slot (precision of recurring jobs)."""
    from .conftest import new_job

    assert await stores.agent.next_due_in(["tests.noop"], None) is None
    soon = datetime.now(UTC) + timedelta(seconds=3)
    await stores.agent.enqueue([new_job(scheduled_at=soon), new_job(
        scheduled_at=soon + timedelta(seconds=5)), new_job(lane="other", scheduled_at=soon
                                                           - timedelta(seconds=2))])
    due_in = await stores.agent.next_due_in(["tests.noop"], ["default"])
    assert due_in is not None and timedelta(seconds=2) < due_in <= timedelta(seconds=3)
    everywhere = await stores.agent.next_due_in(["tests.noop"], None)
    assert everywhere is not None and everywhere <= timedelta(seconds=1)
    assert await stores.agent.next_due_in(["tests.unknown"], None) is None
