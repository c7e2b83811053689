"""Recurring schedules through the public API: create, inspect, pause, resume, change, cancel,
static profiles across deploys, and bad input (on the memory backend)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

import jobmaster as jm
from jobmaster import testing
from jobmaster.backends.memory import reset_memory_space
from jobmaster.runtime.planner import Planner, PlannerConfig

recorder = testing.JobRecorder()
tick = recorder.handler("tick", lane="ticks", priority=jm.Priority.HIGH)
other = recorder.handler("other")


@pytest.fixture
async def app() -> AsyncIterator[testing.EagerJobMaster]:
    async with testing.manual(handlers=[tick, other],
                              config=testing.memory_config(timezone="Europe/Paris")) as app:
        yield app


async def queued(app: jm.JobMaster, schedule_id: str) -> list[jm.JobInfo]:
    page = await app.list_jobs(schedule_id=schedule_id, status=jm.JobStatus.QUEUED, limit=1000)
    return sorted(page.items, key=lambda j: j.scheduled_at)


async def test_recurring_plans_the_window_at_once(app: testing.EagerJobMaster) -> None:
    info = await app.scheduler.recurring(tick, "every 1 minutes", {"k": "v"}, max_retries=7)
    assert isinstance(info, jm.ScheduleInfo)
    assert info.kind is jm.ScheduleKind.DYNAMIC and info.status is jm.ScheduleStatus.ACTIVE
    assert info.expression == "every 1 minutes" and info.tz == "Europe/Paris"
    assert info.definition_id == "tick" and info.lane == "ticks"
    assert info.msg_data == jm.MessageData(k="v")
    jobs = await queued(app, info.id)
    assert len(jobs) == 10  # a 10-minute window
    assert info.next_run_at == jobs[0].scheduled_at
    assert {j.trigger for j in jobs} == {jm.TriggerSource.DYNAMIC_RECURRING}
    assert {(j.lane, j.priority, j.max_retries) for j in jobs} == {("ticks", 4, 7)}
    assert all(j.scheduled_at.second == 0 for j in jobs)


@pytest.mark.parametrize(("expression", "kind"), [
    (timedelta(minutes=5), "interval"), ("*/5 * * * *", "cron"),
    (jm.Cron("0 9 * * mon-fri", tz="America/New_York"), "cron"),
    ("every day at 09:00 tz Asia/Tokyo", "natural")])
async def test_expression_forms(app: testing.EagerJobMaster, expression: object,
                                kind: str) -> None:
    info = await app.scheduler.recurring(tick, expression)
    assert info.expression_kind == kind and info.next_run_at is not None
    fetched = await app.scheduler.get_schedule(info.id)
    assert fetched is not None and fetched.expression == info.expression
    if kind == "cron" and isinstance(expression, str):
        assert info.tz == "Europe/Paris"  # the cluster's zone


async def test_interval_anchored_at_start_after(app: testing.EagerJobMaster) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90, milliseconds=250)
    info = await app.scheduler.recurring(tick, timedelta(minutes=3), start_after=start)
    assert info.next_run_at == start


async def test_pause_resume_cancel(app: testing.EagerJobMaster) -> None:
    info = await app.scheduler.recurring(tick, "every 1 minutes")
    before = await queued(app, info.id)
    assert await app.scheduler.pause_recurring(info.id)
    assert not await app.scheduler.pause_recurring(info.id)  # already paused
    paused = await app.scheduler.get_schedule(info.id)
    assert paused is not None and paused.status is jm.ScheduleStatus.PAUSED
    assert await queued(app, info.id) == []
    assert await app.planner.run_once() is not None  # paused: nothing planned
    assert await queued(app, info.id) == []
    assert await app.scheduler.resume_recurring(info.id)
    after = await queued(app, info.id)
    assert [j.scheduled_at for j in after] == [j.scheduled_at for j in before]
    assert not {j.id for j in after} & {j.id for j in before}  # new jobs for the same slots
    assert await app.scheduler.cancel_recurring(info.id)
    assert not await app.scheduler.cancel_recurring(info.id)
    assert await queued(app, info.id) == []
    cancelled = await app.scheduler.get_schedule(info.id)
    assert cancelled is not None and cancelled.status is jm.ScheduleStatus.CANCELLED
    assert not await app.scheduler.resume_recurring(info.id)
    assert not await app.scheduler.cancel_recurring(str(uuid.uuid4()))


async def test_update_expression_and_data(app: testing.EagerJobMaster) -> None:
    info = await app.scheduler.recurring(tick, "every 1 minutes", {"v": 1})
    updated = await app.scheduler.update_recurring(info.id, expression="every 5 minutes",
                                                   data={"v": 2})
    assert updated is not None and updated.expression == "every 5 minutes"
    jobs = await queued(app, info.id)
    assert len(jobs) == 2 and all(j.scheduled_at.minute % 5 == 0 for j in jobs)
    assert {j.msg_data.get_int("v") for j in jobs} == {2}
    assert await app.scheduler.update_recurring(str(uuid.uuid4()), data={"v": 3}) is None
    with pytest.raises(ValueError, match="every"):
        await app.scheduler.update_recurring(info.id, expression="every 0 minutes")


async def test_list_schedules_filters(app: testing.EagerJobMaster) -> None:
    one = await app.scheduler.recurring(tick, "every 1 minutes")
    two = await app.scheduler.recurring(other, "every 1 minutes")
    await app.scheduler.pause_recurring(two.id)
    assert {s.id for s in await app.scheduler.list_schedules()} == {one.id, two.id}
    assert [s.id for s in await app.scheduler.list_schedules(status="paused")] == [two.id]
    assert [s.id for s in await app.scheduler.list_schedules(definition=tick)] == [one.id]


@pytest.mark.parametrize(("expression", "message"), [
    ("every 0 minutes", "positive integer"),
    ("every day at 25:00", "25"),
    ("every day on [mon, funday]", "funday"),
    ("every day at 09:00 tz Mars/Olympus", "Mars/Olympus"),
    (timedelta(milliseconds=500), "at least 1 second"),
    ("61 * * * *", "61"),
])
async def test_bad_expressions_say_what(app: testing.EagerJobMaster, expression: object,
                                        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await app.scheduler.recurring(tick, expression)
    assert await app.scheduler.list_schedules() == []


async def test_bad_options_say_what(app: testing.EagerJobMaster) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match=r"end_before .* must be later than start_after"):
        await app.scheduler.recurring(tick, "every 1 minutes", start_after=now,
                                      end_before=now - timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        await app.scheduler.recurring(tick, "every 1 minutes", start_after=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="misfire"):
        await app.scheduler.recurring(tick, "every 1 minutes", misfire="sometimes")
    with pytest.raises(ValueError, match="idempotency_key"):
        await app.scheduler.recurring(tick, "every 1 minutes", idempotency_key="k")
    with pytest.raises(jm.UnknownHandlerError):
        await app.scheduler.recurring("nobody", "every 1 minutes")


# -- static profiles ---------------------------------------------------------------------------
def profile(expression: str, *, with_cleanup: bool = True) -> type[jm.StaticProfile]:
    class Nightly(jm.StaticProfile):
        profile_id = "nightly"

        def define(self, s: jm.StaticSchedules) -> None:
            s.add(tick, expression, id="backup")
            if with_cleanup:
                s.add(other, timedelta(hours=1))

    return Nightly


@pytest.fixture
def space() -> Iterator[str]:
    name = f"static-{uuid.uuid4().hex}"
    yield name
    reset_memory_space(name)


def deploy(space: str, nightly: type[jm.StaticProfile]) -> testing.EagerJobMaster:
    config = testing.memory_config(space=space)
    return testing.EagerJobMaster(config, handlers=[], static_profiles=[nightly], eager=False)


async def static_by_key(app: jm.JobMaster) -> dict[str | None, jm.ScheduleInfo]:
    found = await app.scheduler.list_schedules(kind="static")
    return {s.static_key: s for s in found}


async def test_static_profile_lifecycle(space: str) -> None:
    async with deploy(space, profile("every day at 02:00")) as first:
        schedules = await static_by_key(first)
        assert set(schedules) == {"nightly:backup", "nightly:other"}
        backup = schedules["nightly:backup"]
        await first.planner.run_once()
        assert len(await queued(first, backup.id)) <= 1
    # Deploy 2: the expression changed in code -> the same schedule, new expression.
    async with deploy(space, profile("every 1 minutes")) as second:
        changed = (await static_by_key(second))["nightly:backup"]
        assert changed.id == backup.id and changed.expression == "every 1 minutes"
        await second.planner.run_once()
        assert len(await queued(second, backup.id)) == 10
        # A user pauses it ...
        assert await second.scheduler.pause_recurring(backup.id)
    # ... and it stays paused across the next deploy (the original revived it).
    async with deploy(space, profile("every 1 minutes")) as third:
        assert (await static_by_key(third))["nightly:backup"].status is jm.ScheduleStatus.PAUSED
        assert await third.scheduler.cancel_recurring(backup.id)
    async with deploy(space, profile("every 2 minutes")) as fourth:
        kept = (await static_by_key(fourth))["nightly:backup"]
        assert kept.status is jm.ScheduleStatus.CANCELLED
        assert kept.expression == "every 2 minutes"
        with pytest.raises(ValueError, match="static"):
            await fourth.scheduler.update_recurring(backup.id, expression="every 3 minutes")
    # Deploy 5 drops "other" from code: retired once no live process declares it.
    async with deploy(space, profile("every 2 minutes", with_cleanup=False)) as fifth:
        assert fifth.master is not None
        planner = Planner(fifth.master, list(fifth.agents.values()),
                          config=PlannerConfig(retire_after=timedelta(milliseconds=50)))
        import asyncio

        await asyncio.sleep(0.1)
        await fifth.master.declare_static([backup.id])  # fifth is alive and declares backup
        result = await planner.run_once()
        schedules = await static_by_key(fifth)
        assert result.retired == [schedules["nightly:other"].id]
        assert schedules["nightly:other"].status is jm.ScheduleStatus.RETIRED
        assert schedules["nightly:backup"].status is jm.ScheduleStatus.CANCELLED
    # Put back in code: active again.
    async with deploy(space, profile("every 2 minutes")) as sixth:
        assert (await static_by_key(sixth))["nightly:other"].status is jm.ScheduleStatus.ACTIVE


async def test_static_profile_errors(space: str) -> None:
    class NoId(jm.StaticProfile):
        def define(self, s: jm.StaticSchedules) -> None:
            s.add(tick, "every 1 minutes")

    with pytest.raises(ValueError, match="profile_id"):
        await deploy(space, NoId).start()

    class Twice(jm.StaticProfile):
        profile_id = "twice"

        def define(self, s: jm.StaticSchedules) -> None:
            s.add(tick, "every 1 minutes", id="a")
            s.add(tick, "every 2 minutes", id="a")

    with pytest.raises(ValueError, match="twice"):
        await deploy(space, Twice).start()

    class Bad(jm.StaticProfile):
        profile_id = "bad"

        def define(self, s: jm.StaticSchedules) -> None:
            s.add(tick, "every day at 25:00")

    with pytest.raises(ValueError, match="25"):
        await deploy(space, Bad).start()


def test_sync_facade(space: str) -> None:
    app = deploy(space, profile("every 1 minutes"))
    app.start_in_background(run_workers=False)
    try:
        info = app.scheduler_sync.recurring(tick, "every 1 minutes")
        assert app.scheduler_sync.get_schedule(info.id) is not None
        assert app.scheduler_sync.pause_recurring(info.id)
        assert app.scheduler_sync.resume_recurring(info.id)
        assert app.scheduler_sync.update_recurring(info.id, data={"x": 1}) is not None
        assert len(app.scheduler_sync.list_schedules()) == 3
        assert app.scheduler_sync.cancel_recurring(info.id)
    finally:
        app.stop_background()
