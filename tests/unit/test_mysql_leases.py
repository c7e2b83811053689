"""MySQL/MariaDB lease renewal racing other transactions on the same rows (real server).

A renewal is a plain fenced UPDATE: it waits only while another transaction holds one of its
rows, and then judges the row as that transaction left it. A completion racing a renewal must
make the finished job "not held" and leave every live lease held; a transaction that locks a
live lease and rolls back must not make it look lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.backends.mysql import MysqlAgent
from jobmaster.config import BackendSpec
from jobmaster.model import AttemptOutcome, AttemptResult, ClaimedJob, LeaseRef
from tests.unit.mysql_support import new_job, opened_agent

LEASE = timedelta(seconds=30)


@pytest.fixture
async def agent(mysql_database: str) -> AsyncIterator[MysqlAgent]:
    async with opened_agent(mysql_database) as store:
        yield store


async def claimed(agent: MysqlAgent, count: int) -> list[ClaimedJob]:
    await agent.enqueue([new_job() for _ in range(count)])
    return await agent.claim("w1", lanes=None, definitions=["tests.noop"], limit=count,
                             lease=LEASE)


def refs(jobs: list[ClaimedJob]) -> list[LeaseRef]:
    return [LeaseRef(job.id, job.lease_token) for job in jobs]


async def hold_row_lock(agent: MysqlAgent, job_id: str, locked: asyncio.Event,
                        release: asyncio.Event, *, delete: bool) -> None:
    """Lock one job row in a transaction of its own until ``release``; then delete it (a
    completion) and commit, or roll back."""
    async with agent.pool.acquire() as conn, conn.cursor() as cur:
        await conn.begin()
        await cur.execute(f"SELECT id FROM {agent.prefix}agent_job WHERE id = %s FOR UPDATE",
                          (job_id,))
        locked.set()
        await release.wait()
        if delete:
            await cur.execute(f"DELETE FROM {agent.prefix}agent_job WHERE id = %s", (job_id,))
            await conn.commit()
        else:
            await conn.rollback()


@pytest.mark.parametrize("completed", [True, False], ids=["completion-commits", "rolls-back"])
async def test_renewal_waits_for_a_locked_row_and_judges_it_after(
        agent: MysqlAgent, completed: bool) -> None:
    jobs = await claimed(agent, 5)
    locked, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(
        hold_row_lock(agent, jobs[2].id, locked, release, delete=completed))
    await locked.wait()
    renewal = asyncio.create_task(agent.extend_leases("w1", refs(jobs), LEASE))
    await asyncio.sleep(0.2)
    assert not renewal.done()  # waiting for the one locked row, not failing it
    release.set()
    result = await asyncio.wait_for(renewal, timeout=5)
    await holder
    live = {job.id for job in jobs} - ({jobs[2].id} if completed else set())
    assert result.held == live


async def test_renewal_racing_real_completions_never_loses_a_live_lease(
        agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 200)
    now = datetime.now(UTC)
    finished = jobs[::2]
    results = [AttemptResult(j.id, j.lease_token, AttemptOutcome.SUCCEEDED, "w1", now, now)
               for j in finished]
    outcomes = await asyncio.gather(agent.finish(results),
                                    *(agent.extend_leases("w1", refs(jobs), LEASE)
                                      for _ in range(3)))
    assert outcomes[0] == {j.id for j in finished}
    live = {j.id for j in jobs[1::2]}
    for extension in outcomes[1:]:
        assert live <= extension.held  # type: ignore[union-attr]
    assert (await agent.extend_leases("w1", refs(jobs), LEASE)).held == live


async def test_renewal_is_fenced_by_token_and_owner(agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 3)
    stale = [LeaseRef(jobs[0].id, "not-the-token" + jobs[0].id), *refs(jobs[1:])]
    assert (await agent.extend_leases("w1", stale, LEASE)).held == {j.id for j in jobs[1:]}
    assert (await agent.extend_leases("w2", refs(jobs), LEASE)).held == frozenset()
    # A token of one job does not renew another (tokens end with their job's id).
    crossed = [LeaseRef(jobs[0].id, jobs[1].lease_token)]
    assert (await agent.extend_leases("w1", crossed, LEASE)).held == frozenset()


async def test_renewal_reports_cancel_requests(agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 2)
    await agent.cancel(jobs[0].id)
    extension = await agent.extend_leases("w1", refs(jobs), LEASE)
    assert extension.held == {j.id for j in jobs}
    assert extension.cancel_requested == {jobs[0].id}


async def test_a_cancelled_caller_leaves_no_broken_connection(agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 1)
    locked, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold_row_lock(agent, jobs[0].id, locked, release,
                                               delete=False))
    await locked.wait()
    with pytest.raises(TimeoutError):  # the caller's own deadline, not a driver error
        await asyncio.wait_for(agent.extend_leases("w1", refs(jobs), LEASE), timeout=0.2)
    release.set()
    await holder
    assert (await agent.extend_leases("w1", refs(jobs), LEASE)).held == {jobs[0].id}


async def test_release_is_fenced_by_token(agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 3)
    stale = [LeaseRef(jobs[0].id, "stale"), *refs(jobs[1:])]
    assert await agent.release(stale) == 2
    again = await agent.claim("w1", lanes=None, definitions=["tests.noop"], limit=5,
                              lease=LEASE)
    assert {j.id for j in again} == {j.id for j in jobs[1:]}
    assert all(j.attempt == 1 for j in again)  # the attempt counter was given back


async def test_a_stale_result_in_a_batch_is_rejected_alone(agent: MysqlAgent) -> None:
    jobs = await claimed(agent, 3)
    now = datetime.now(UTC)
    results = [AttemptResult(j.id, j.lease_token, AttemptOutcome.SUCCEEDED, "w1", now, now)
               for j in jobs]
    results[1] = AttemptResult(jobs[1].id, "stale" + jobs[1].id, AttemptOutcome.SUCCEEDED,
                               "w1", now, now)
    assert await agent.finish(results) == {jobs[0].id, jobs[2].id}
    events = await agent.read_outbox(10)
    assert sorted(e.job_id for e in events) == sorted([jobs[0].id, jobs[2].id])
    assert (await agent.extend_leases("w1", refs(jobs), LEASE)).held == {jobs[1].id}


async def test_many_leases_are_renewed_in_several_statements(
        agent: MysqlAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobmaster.backends.mysql import agent as module

    monkeypatch.setattr(module, "RENEWALS_PER_STATEMENT", 2)
    jobs = await claimed(agent, 5)
    await agent.cancel(jobs[4].id)
    extension = await agent.extend_leases("w1", refs(jobs), LEASE)
    assert extension.held == {j.id for j in jobs}
    assert extension.cancel_requested == {jobs[4].id}


async def test_agent_upgrade_from_0001_keeps_queued_jobs_and_reruns_safely(
        mysql_database: str) -> None:
    store = MysqlAgent(BackendSpec("mysql", mysql_database, f"t{uuid.uuid4().hex[:8]}_"),
                       "standalone")
    await store.open()
    try:
        async with store.pool.acquire() as conn, conn.cursor() as cur:
            for statement in store.pending_migrations(0)[0].statements(store.prefix):
                await cur.execute(statement)
            await cur.execute(f"INSERT INTO {store.prefix}schema_version VALUES ('agent', 1)")
        job = new_job()
        await store.enqueue([job])
        assert await store.migrate() == [2]
        async with store.pool.acquire() as conn, conn.cursor() as cur:  # as if cut short
            await cur.execute(f"UPDATE {store.prefix}schema_version SET version = 1")
        assert await store.migrate() == [2]
        [claimed_job] = await store.claim("w1", lanes=["default"], definitions=["tests.noop"],
                                          limit=5, lease=LEASE)
        assert claimed_job.id == job.id
    finally:
        await store.close()
