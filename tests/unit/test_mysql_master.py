"""MySQL/MariaDB master specifics on a real server: the 0002 upgrade (also rerun after being
cut short), races decided by row locks and keys across separate connections, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncmy
import pytest

from jobmaster.backends.mysql import MysqlMaster
from jobmaster.config import BackendSpec
from jobmaster.model import Backoff, JobStatus, NewJob
from jobmaster.recurring.records import Misfire, ScheduleKind, ScheduleRecord

LEASE = timedelta(seconds=30)


def held_job(*, key: str | None = None, due_in: float = -1.0) -> NewJob:
    return NewJob(
        id=str(uuid.uuid4()), definition_id="tests.noop", lane="default", priority=3,
        scheduled_at=datetime.now(UTC) + timedelta(seconds=due_in), msg_data="{}",
        metadata="{}", max_retries=0, timeout_ms=30_000,
        backoff=json.dumps(Backoff().to_json()), idempotency_key=key,
    )


@pytest.fixture
def spec(mysql_database: str) -> BackendSpec:
    return BackendSpec("mysql", mysql_database, f"t{uuid.uuid4().hex[:8]}_")


@pytest.fixture
async def masters(spec: BackendSpec) -> AsyncIterator[list[MysqlMaster]]:
    """Three masters on one schema, each with its own pool (three processes, say)."""
    stores = [MysqlMaster(spec) for _ in range(3)]
    for store in stores:
        await store.open()
    await stores[0].migrate()
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


async def sql(master: MysqlMaster, statement: str) -> None:
    async with master.pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(statement.replace("{p}", master.prefix))


async def test_upgrade_from_0001_keeps_the_history_and_reruns_safely(spec: BackendSpec) -> None:
    master = MysqlMaster(spec)
    await master.open()
    try:
        first = master.pending_migrations(0)[0]
        for statement in first.statements(master.prefix):
            await sql(master, statement)
        await sql(master, "INSERT INTO {p}schema_version (role, version) VALUES ('master', 1)")
        await sql(master, "INSERT INTO {p}job (id, version, status, definition_id, lane, "
                          "priority, scheduled_at, created_at, msg_data, metadata, attempt_count,"
                          " max_retries, timeout_ms, trigger_source, agent, updated_at, "
                          "finished_at) VALUES ('00000000-0000-0000-0000-000000000001', 2, "
                          "'succeeded', 'd', 'default', 3, NOW(6), NOW(6), '{}', '{}', 1, 0, 1, "
                          "'once', 'a', NOW(6), NOW(6))")
        assert (await master.schema_state()).current == 1
        assert await master.migrate() == [2, 3]
        # Cut short after its DDL: the version row still says 1, so everything runs again.
        await sql(master, "UPDATE {p}schema_version SET version = 1 WHERE role = 'master'")
        assert await master.migrate() == [2, 3]
        # 0003 drops an index: run again, the index already gone is skipped.
        await sql(master, "UPDATE {p}schema_version SET version = 2 WHERE role = 'master'")
        assert await master.migrate() == [3]
        assert (await master.schema_state()).up_to_date
        info = await master.get_job("00000000-0000-0000-0000-000000000001")
        assert info is not None and info.status is JobStatus.SUCCEEDED
    finally:
        await master.close()


async def test_racing_holds_of_one_key_store_one_job(masters: list[MysqlMaster]) -> None:
    jobs = [held_job(key="one-key", due_in=3600) for _ in range(6)]
    results = await asyncio.gather(*(masters[i % 3].hold_jobs([job])
                                     for i, job in enumerate(jobs)))
    created = [r.id for [r] in results if r.created]
    assert len(created) == 1
    assert {r.id for [r] in results} == set(created)


async def test_racing_promoters_take_each_job_once(masters: list[MysqlMaster]) -> None:
    jobs = [held_job() for _ in range(300)]
    await masters[0].hold_jobs(jobs)

    async def promoter(master: MysqlMaster, name: str) -> list[str]:
        taken: list[str] = []
        while batch := await master.claim_held(name, due_within=timedelta(0), limit=25,
                                               lease=LEASE):
            taken.extend(held.job.id for held in batch)
            assert await master.finish_held({h.job.id: h.token for h in batch}) == len(batch)
        return taken

    taken = await asyncio.gather(*(promoter(m, f"p{i}") for i, m in enumerate(masters * 2)))
    everything = [job_id for batch in taken for job_id in batch]
    assert sorted(everything) == sorted(job.id for job in jobs)  # each exactly once


async def test_finish_held_is_fenced_per_job(masters: list[MysqlMaster]) -> None:
    first, second = held_job(), held_job()
    await masters[0].hold_jobs([first, second])
    [one] = await masters[0].claim_held("p1", due_within=timedelta(0), limit=1, lease=LEASE)
    [two] = await masters[0].claim_held("p2", due_within=timedelta(0), limit=1, lease=LEASE)
    # Each token fences its own job only, even when both are passed together.
    crossed = {one.job.id: two.token, two.job.id: one.token}
    assert await masters[0].finish_held(crossed) == 0
    assert await masters[0].finish_held({one.job.id: one.token, two.job.id: two.token}) == 2


async def test_rescheduling_to_the_same_time_succeeds(masters: list[MysqlMaster]) -> None:
    job = held_job(due_in=600)
    await masters[0].hold_jobs([job])
    assert job.scheduled_at is not None
    assert await masters[0].reschedule_held(job.id, job.scheduled_at)
    assert await masters[0].reschedule_held(job.id, job.scheduled_at)


async def test_racing_leaders_one_token(masters: list[MysqlMaster]) -> None:
    tokens = await asyncio.gather(*(m.acquire_leader("planner", f"owner-{i}", LEASE)
                                    for i, m in enumerate(masters)))
    assert len([t for t in tokens if t is not None]) == 1


async def test_too_long_a_value_is_refused_and_nothing_stored(
        masters: list[MysqlMaster]) -> None:
    record = ScheduleRecord(
        id=str(uuid.uuid4()), kind=ScheduleKind.DYNAMIC, definition_id="tests.tick",
        expression_kind="natural", expression_text="every 1 seconds", expression_tz="UTC",
        msg_data="{}", metadata="{}", lane="x" * 300, priority=3, max_retries=0,
        timeout_ms=1000, backoff="{}", misfire=Misfire.SKIP)
    with pytest.raises(asyncmy.errors.DataError, match="lane"):
        await masters[0].insert_schedule(record)
    assert await masters[0].get_schedule(record.id) is None


async def test_negative_retention_is_refused(masters: list[MysqlMaster]) -> None:
    with pytest.raises(ValueError, match="older_than"):
        await masters[0].purge_history(timedelta(seconds=-1), limit=10)
