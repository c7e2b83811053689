"""Distributed clusters on PostgreSQL: routing across agents, held jobs and their promotion,
an agent that is down when a producer starts."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

import jobmaster as jm
from jobmaster.model import WorkerRecord
from jobmaster.runtime.promoter import Promoter

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ran: list[tuple[str, str]] = []


@jm.job_handler(definition_id="tests.dist-record")
async def record(job: jm.JobContext) -> None:
    ran.append((job.id, job.lane))


def cluster(dsn: str, *agents: str, dead: str | None = None) -> jm.ClusterConfig:
    run = uuid.uuid4().hex[:6]
    config = jm.ClusterConfig("dist").use_postgres_for_master(dsn, table_prefix=f"m{run}_")
    for name in agents:
        config.add_agent_connection(name).use_postgres_for_agent(
            dsn, table_prefix=f"{name}{run}_")
    if dead is not None:
        config.add_agent_connection(dead).use_postgres_for_agent(
            "postgresql://postgres@127.0.0.1:1/nowhere")
    return config


async def wait_until(predicate: object, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_jobs_route_by_lane_and_spread_over_agents(pg_database: str) -> None:
    ran.clear()
    config = cluster(pg_database, "a1", "a2")
    config.add_worker(agent="a1", lanes=["default"], concurrency=20)
    config.add_worker(agent="a2", lanes=["default", "emails"], concurrency=20)
    app = jm.JobMaster(config, handlers=[record])
    async with app:
        plain = [await app.scheduler.once_now(record) for _ in range(200)]
        emails = [await app.scheduler.once_now(record, lane="emails") for _ in range(20)]
        await wait_until(lambda: len(ran) == 220)
        await app.sync_now()
        infos = [await app.get_job(job.id) for job in plain + emails]
    assert all(i is not None and i.status is jm.JobStatus.SUCCEEDED for i in infos)
    by_agent = Counter(i.agent for i in infos[:200] if i is not None)
    assert set(by_agent) == {"a1", "a2"} and min(by_agent.values()) >= 40, by_agent
    assert {i.agent for i in infos[200:] if i is not None} == {"a2"}
    # The topology on the master records the agent connections (no credentials).
    assert [(a.name, a.kind) for a in await _agents(pg_database, config)] == [
        ("a1", "postgres"), ("a2", "postgres")]


async def _agents(dsn: str, config: jm.ClusterConfig) -> list[object]:
    app = jm.JobMaster(config, handlers=[record])
    await app.start(run_workers=False)
    try:
        assert app.master is not None
        return list(await app.master.list_agents())
    finally:
        await app.stop()


async def test_far_jobs_are_held_and_promoted_exactly_once(pg_database: str) -> None:
    config = cluster(pg_database, "a1", "a2")
    app = jm.JobMaster(config, handlers=[record])  # a producer: no worker in this process
    async with app:
        assert app.master is not None
        now = datetime.now(UTC)
        for name in ("a1", "a2"):  # live workers elsewhere serve the default lane
            await app.master.register_worker(WorkerRecord(
                id=f"w-{name}", name=name, host="h", pid=1, agent=name, lanes=("default",),
                concurrency=1, started_at=now, last_heartbeat=now, status="active"))
        when = now + timedelta(hours=1)
        jobs = [await app.scheduler.once_at(record, when) for _ in range(150)]
        info = await app.get_job(jobs[0].id)
        assert info is not None and info.status is jm.JobStatus.SCHEDULED
        page = await app.list_jobs(status=jm.JobStatus.SCHEDULED, limit=1000)
        assert len(page.items) == 150
        assert await app.scheduler.cancel(jobs[0].id)
        assert await app.scheduler.reschedule(jobs[1].id, when + timedelta(minutes=5))
        router = app._require_router()
        promoters = [Promoter(app.master, router, app.agents, interval=1,
                              ahead=timedelta(hours=2), batch_size=20) for _ in range(3)]

        async def drain(promoter: Promoter) -> int:
            total = 0
            while (moved := await promoter.run_once()) > 0:
                total += moved
            return total

        moved = await asyncio.gather(*(drain(p) for p in promoters))
        assert sum(moved) == 149
        depth = [sum((await agent.queue_depth()).values()) for agent in app.agents.values()]
        assert sum(depth) == 149 and min(depth) > 0
        assert (await app.list_jobs(status=jm.JobStatus.SCHEDULED)).items == []
        promoted = await app.get_job(jobs[1].id)
        assert promoted is not None and promoted.status is jm.JobStatus.QUEUED
        assert promoted.scheduled_at == when + timedelta(minutes=5)
        cancelled = await app.get_job(jobs[0].id)
        assert cancelled is not None and cancelled.status is jm.JobStatus.CANCELLED


async def test_lane_without_worker_is_held_until_one_serves_it(pg_database: str) -> None:
    ran.clear()
    config = cluster(pg_database, "a1")
    config.add_worker(agent="a1", lanes=["default"])
    config.with_options(promote_interval=timedelta(milliseconds=100))
    app = jm.JobMaster(config, handlers=[record])
    async with app:
        job = await app.scheduler.once_now(record, lane="reports")
        info = await app.get_job(job.id)
        assert info is not None and info.status is jm.JobStatus.SCHEDULED
        assert app.master is not None
        now = datetime.now(UTC)
        await app.master.register_worker(WorkerRecord(
            id="w-reports", name="reports", host="h", pid=1, agent="a1", lanes=("reports",),
            concurrency=1, started_at=now, last_heartbeat=now, status="active"))

        async def on_agent() -> bool:
            found = await app.get_job(job.id)
            return found is not None and found.status is jm.JobStatus.QUEUED

        deadline = asyncio.get_running_loop().time() + 10
        while not await on_agent():
            assert asyncio.get_running_loop().time() < deadline, "never promoted"
            await asyncio.sleep(0.1)


async def test_producer_starts_and_routes_around_an_agent_that_is_down(
        pg_database: str) -> None:
    config = cluster(pg_database, "a1", dead="a9")
    app = jm.JobMaster(config, handlers=[record])
    async with app:
        assert app.master is not None
        now = datetime.now(UTC)
        for name in ("a1", "a9"):
            await app.master.register_worker(WorkerRecord(
                id=f"w-{name}", name=name, host="h", pid=1, agent=name, lanes=("default",),
                concurrency=1, started_at=now, last_heartbeat=now, status="active"))
        jobs = [await app.scheduler.once_now(record) for _ in range(20)]
        infos = [await app.get_job(job.id) for job in jobs]
        assert {i.agent for i in infos if i is not None} == {"a1"}
        assert await app.reconnect_agents() == []
