"""MasterStore conformance for recurring schedules: records, versioned updates, the unique slot
key, static declarations and the leader lease."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.backends.factory import make_master
from jobmaster.model import Backoff
from jobmaster.recurring.records import (
    Misfire,
    ScheduleKind,
    ScheduleQuery,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
)

from .conftest import Stores

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _implemented(stores: Stores) -> None:
    if not stores.master.capabilities.recurring_schedules:
        pytest.skip(f"{stores.kind}: schedule storage not implemented yet")


def record(kind: ScheduleKind = ScheduleKind.DYNAMIC, **changes: object) -> ScheduleRecord:
    base = ScheduleRecord(
        id=str(uuid.uuid4()), kind=kind, definition_id="tests.tick", expression_kind="natural",
        expression_text="every 1 seconds", expression_tz="Europe/Paris",
        msg_data=json.dumps({"a": 1}), metadata="{}", lane="default", priority=3,
        max_retries=2, timeout_ms=1000, backoff=json.dumps(Backoff().to_json()),
        misfire=Misfire.CATCH_UP, catch_up_limit=7, allow_overlap=False,
        start_after=T0, end_before=T0 + timedelta(days=1),
    )
    return base.changed(**changes)


async def test_insert_get_round_trip(stores: Stores) -> None:
    new = record(planned_until=T0 + timedelta(seconds=5), next_run_at=T0, last_job_id="j1",
                 generation=2)
    assert await stores.master.insert_schedule(new)
    assert not await stores.master.insert_schedule(new.changed(definition_id="other"))
    got = await stores.master.get_schedule(new.id)
    assert got is not None
    assert got.version == 1 and got.created_at is not None and got.updated_at is not None
    assert got.last_declared_at is None  # dynamic
    for name in ("kind", "definition_id", "expression_text", "expression_tz", "msg_data",
                 "misfire", "catch_up_limit", "allow_overlap", "start_after", "end_before",
                 "planned_until", "next_run_at", "last_job_id", "priority", "backoff", "generation"):
        assert getattr(got, name) == getattr(new, name), name
    assert await stores.master.get_schedule(str(uuid.uuid4())) is None


async def test_update_is_fenced_by_version(stores: Stores) -> None:
    new = record()
    await stores.master.insert_schedule(new)
    stored = await stores.master.get_schedule(new.id)
    assert stored is not None
    paused = await stores.master.update_schedule(stored.changed(status=ScheduleStatus.PAUSED,
                                                                missed_count=3))
    assert paused is not None and paused.version == 2 and paused.missed_count == 3
    # A writer holding the old version loses: no lost update.
    assert await stores.master.update_schedule(stored.changed(planned_until=T0)) is None
    current = await stores.master.get_schedule(new.id)
    assert current is not None and current.status is ScheduleStatus.PAUSED
    assert current.planned_until is None


async def test_list_filters_and_pages(stores: Stores) -> None:
    made = [record(), record(status=ScheduleStatus.PAUSED),
            record(ScheduleKind.STATIC, profile_id="p1", static_key="p1:a")]
    for r in made:
        await stores.master.insert_schedule(r)
    everything = await stores.master.list_schedules(ScheduleQuery())
    assert [r.id for r in everything] == sorted(r.id for r in made)
    paused = await stores.master.list_schedules(ScheduleQuery(status=ScheduleStatus.PAUSED))
    assert [r.id for r in paused] == [made[1].id]
    static = await stores.master.list_schedules(ScheduleQuery(kind=ScheduleKind.STATIC))
    assert [r.profile_id for r in static] == ["p1"]
    first = await stores.master.list_schedules(ScheduleQuery(limit=2))
    rest = await stores.master.list_schedules(ScheduleQuery(after_id=first[-1].id))
    assert [r.id for r in first + rest] == [r.id for r in everything]


async def test_slots_are_unique(stores: Stores) -> None:
    slots = [SlotRecord("s1", T0 + timedelta(seconds=i), f"j{i}", SlotOutcome.PLANNED)
             for i in range(3)]
    assert await stores.master.insert_slots(slots) == [True, True, True]
    again = [SlotRecord("s1", T0 + timedelta(seconds=i), "other", SlotOutcome.PLANNED)
             for i in range(2, 5)]
    assert await stores.master.insert_slots(again) == [False, True, True]
    listed = await stores.master.list_slots("s1")
    assert [s.slot_at for s in listed] == [T0 + timedelta(seconds=i) for i in range(5)]
    assert listed[2].job_id == "j2"  # the first writer won


async def test_racing_slot_writers_create_each_slot_once(stores: Stores) -> None:
    masters = [stores.master] + [make_master(stores.spec) for _ in range(2)]
    for extra in masters[1:]:
        await extra.open()
    try:
        slots = [SlotRecord("race", T0 + timedelta(seconds=i), str(i), SlotOutcome.PLANNED)
                 for i in range(200)]
        results = await asyncio.gather(*(m.insert_slots(slots) for m in masters))
    finally:
        for extra in masters[1:]:
            await extra.close()
    assert [sum(column) for column in zip(*results, strict=True)] == [1] * 200


async def test_slot_outcomes_listing_delete_and_trim(stores: Stores) -> None:
    times = [T0 + timedelta(seconds=i) for i in range(4)]
    await stores.master.insert_slots([SlotRecord("s", t, "j", SlotOutcome.PLANNED)
                                      for t in times])
    await stores.master.set_slot_outcome("s", times[:2], SlotOutcome.ENQUEUED)
    enqueued = await stores.master.list_slots("s", outcome=SlotOutcome.ENQUEUED)
    assert [s.slot_at for s in enqueued] == times[:2]
    later = await stores.master.list_slots("s", after=times[1], limit=1)
    assert [s.slot_at for s in later] == [times[2]]
    assert await stores.master.delete_slots("s", [times[3]]) == 1
    assert await stores.master.trim_slots(times[1]) == 1
    assert [s.slot_at for s in await stores.master.list_slots("s")] == times[1:3]


async def test_static_declarations_and_retirement(stores: Stores) -> None:
    declared = record(ScheduleKind.STATIC, profile_id="p", static_key="p:x")
    dynamic = record()
    for r in (declared, dynamic):
        await stores.master.insert_schedule(r)
    stored = await stores.master.get_schedule(declared.id)
    assert stored is not None and stored.last_declared_at is not None
    assert await stores.master.retire_undeclared(timedelta(minutes=5)) == []
    await asyncio.sleep(0.05)
    await stores.master.declare_static([declared.id])
    refreshed = await stores.master.get_schedule(declared.id)
    assert refreshed is not None and refreshed.last_declared_at is not None
    assert refreshed.last_declared_at > stored.last_declared_at
    assert refreshed.version == 1
    assert await stores.master.retire_undeclared(timedelta(0)) == [declared.id]
    retired = await stores.master.get_schedule(declared.id)
    assert retired is not None and retired.status is ScheduleStatus.RETIRED
    still = await stores.master.get_schedule(dynamic.id)
    assert still is not None and still.status is ScheduleStatus.ACTIVE


async def test_leader_lease(stores: Stores) -> None:
    master = stores.master
    ttl = timedelta(seconds=30)
    token = await master.acquire_leader("planner", "a", ttl)
    assert token is not None
    assert await master.acquire_leader("planner", "b", ttl) is None
    assert await master.acquire_leader("planner", "a", ttl) == token  # re-entrant
    assert await master.renew_leader("planner", token, ttl)
    assert not await master.renew_leader("planner", "stale-token", ttl)
    assert not await master.release_leader("planner", "stale-token")
    assert await master.release_leader("planner", token)
    other = await master.acquire_leader("planner", "b", timedelta(milliseconds=200))
    assert other is not None and other != token
    await asyncio.sleep(0.3)  # expired by the store's clock: someone else may take it
    taken = await master.acquire_leader("planner", "a", ttl)
    assert taken is not None and taken != other
    assert not await master.renew_leader("planner", other, ttl)
