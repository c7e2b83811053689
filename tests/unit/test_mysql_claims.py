"""MySQL/MariaDB claims on a real server: candidates read without locks and locked by key, the
cursor a draining claim reads on from, and the SKIP LOCKED fallback when another transaction
holds a candidate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.backends.mysql import MysqlAgent
from jobmaster.backends.mysql import claims as claims_module
from jobmaster.model import ClaimedJob
from tests.unit.mysql_support import new_job, opened_agent

LEASE = timedelta(seconds=30)
DEFS = ["tests.noop"]


@pytest.fixture
async def agent(mysql_database: str) -> AsyncIterator[MysqlAgent]:
    async with opened_agent(mysql_database) as store:
        yield store


async def claim(agent: MysqlAgent, limit: int) -> list[ClaimedJob]:
    return await agent.claim("w1", lanes=["default"], definitions=DEFS, limit=limit,
                             lease=LEASE)


async def test_a_draining_claim_reads_on_from_its_cursor(agent: MysqlAgent) -> None:
    await agent.enqueue([new_job() for _ in range(300)])
    first = await claim(agent, 100)
    overdue = new_job(scheduled_at=datetime.now(UTC) - timedelta(hours=1))
    await agent.enqueue([overdue])
    second = await claim(agent, 100)  # after the cursor: the overdue job is behind it
    assert overdue.id not in {job.id for job in second}
    assert max(j.scheduled_at for j in first) <= min(j.scheduled_at for j in second)
    third = await claim(agent, 100)  # the last 100 after the cursor
    fourth = await claim(agent, 100)  # nothing after the cursor: from the start
    assert [job.id for job in fourth] == [overdue.id]
    ids = [job.id for job in first + second + third + fourth]
    assert len(ids) == len(set(ids)) == 301


async def test_an_expired_cursor_claims_from_the_start(
        agent: MysqlAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claims_module, "CLAIM_CURSOR_SECONDS", 0.0)
    await agent.enqueue([new_job() for _ in range(300)])
    await claim(agent, 100)
    overdue = new_job(scheduled_at=datetime.now(UTC) - timedelta(hours=1))
    await agent.enqueue([overdue])
    second = await claim(agent, 100)
    assert second[0].id == overdue.id


async def test_a_candidate_locked_elsewhere_is_passed_over(agent: MysqlAgent) -> None:
    """Another transaction holds the first job in claim order: the claim still returns a full
    batch (the rest come from the SKIP LOCKED read of the ready index), without that job."""
    base = datetime.now(UTC) - timedelta(minutes=5)
    jobs = [new_job(scheduled_at=base + timedelta(seconds=i)) for i in range(10)]
    await agent.enqueue(jobs)
    locked, release = asyncio.Event(), asyncio.Event()

    async def hold_first() -> None:
        async with agent.pool.acquire() as conn, conn.cursor() as cur:
            await conn.begin()
            await cur.execute(f"SELECT id FROM {agent.prefix}agent_job WHERE id = %s FOR UPDATE",
                              (jobs[0].id,))
            locked.set()
            await release.wait()
            await conn.rollback()

    holder = asyncio.create_task(hold_first())
    await locked.wait()
    try:
        got = await asyncio.wait_for(claim(agent, 5), timeout=5)  # never waits for the lock
    finally:
        release.set()
        await holder
    assert [job.id for job in got] == [job.id for job in jobs[1:6]]
    rest = await claim(agent, 10)
    assert [job.id for job in rest] == [jobs[0].id] + [job.id for job in jobs[6:]]
