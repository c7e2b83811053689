"""MasterStore conformance: history queries, paging, filters, topology, schema state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.model import AttemptOutcome, JobQuery, JobStatus, WorkerRecord

from .conftest import Stores, new_job
from .test_agent import claim, result


async def _history(stores: Stores, count: int, **kwargs: object) -> list[str]:
    """Jobs that ran and succeeded, synced to the master's history."""
    jobs = [new_job(**kwargs) for _ in range(count)]  # type: ignore[arg-type]
    await stores.agent.enqueue(jobs)
    definitions = sorted({j.definition_id for j in jobs})
    claimed = await stores.agent.claim("w1", lanes=None, definitions=definitions, limit=count,
                                       lease=timedelta(seconds=30))
    assert len(claimed) == count
    await stores.agent.finish([result(j) for j in claimed])
    await stores.sync()
    return [j.id for j in jobs]


async def test_schema_is_current_after_migrate(stores: Stores) -> None:
    for store in (stores.agent, stores.master):
        state = await store.schema_state()
        assert state.up_to_date
        assert await store.migrate() == []  # idempotent


async def test_list_jobs_filters(stores: Stores) -> None:
    emails = await _history(stores, 3, lane="emails")
    others = await _history(stores, 2, definition_id="tests.other")
    page = await stores.master.list_jobs(JobQuery(lane="emails"))
    assert {j.id for j in page.items} == set(emails)
    page = await stores.master.list_jobs(JobQuery(definition_id="tests.other"))
    assert {j.id for j in page.items} == set(others)
    assert all(j.status is JobStatus.SUCCEEDED for j in page.items)
    failed = new_job(max_retries=0)
    await stores.agent.enqueue([failed])
    [claimed] = await claim(stores, 1)
    await stores.agent.finish([result(claimed, AttemptOutcome.FAILED, error="x")])
    await stores.sync()
    page = await stores.master.list_jobs(JobQuery(status=JobStatus.FAILED))
    assert [j.id for j in page.items] == [failed.id]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert (await stores.master.list_jobs(JobQuery(created_from=future))).items == []
    past = datetime.now(UTC) - timedelta(hours=1)
    assert len((await stores.master.list_jobs(JobQuery(created_from=past))).items) == 6


async def test_history_holds_finished_jobs_and_every_attempt(stores: Stores) -> None:
    job = new_job(max_retries=2)
    await stores.agent.enqueue([job])
    [first] = await claim(stores)
    await stores.agent.finish([result(first, AttemptOutcome.FAILED, error="e1",
                                      retry=timedelta(0))])
    await stores.sync()
    # Still in flight: the agent has it, the master has its finished attempt.
    assert await stores.master.get_job(job.id) is None
    assert [a.error for a in await stores.master.get_attempts(job.id)] == ["e1"]
    live = await stores.agent.get_job(job.id)
    assert live is not None and live.status is JobStatus.QUEUED
    [second] = await claim(stores)
    await stores.agent.finish([result(second)])
    await stores.sync()
    info = await stores.master.get_job(job.id)
    assert info is not None and info.status is JobStatus.SUCCEEDED
    assert [(a.number, a.outcome) for a in info.attempts] == [
        (1, AttemptOutcome.FAILED), (2, AttemptOutcome.SUCCEEDED)]


async def test_agent_lists_in_flight_jobs(stores: Stores) -> None:
    queued = [new_job(lane="a") for _ in range(5)] + [new_job(lane="b")]
    await stores.agent.enqueue(queued)
    [running] = await claim(stores, 1, lanes=["b"])
    page = await stores.agent.list_jobs(JobQuery(status=JobStatus.QUEUED))
    assert {j.id for j in page.items} == {j.id for j in queued[:5]}
    page = await stores.agent.list_jobs(JobQuery(status=JobStatus.PROCESSING))
    assert [j.id for j in page.items] == [running.id]
    assert page.items[0].attempts[-1].outcome is AttemptOutcome.RUNNING
    seen: list[str] = []
    cursor = None
    while True:
        page = await stores.agent.list_jobs(JobQuery(limit=2, cursor=cursor))
        seen.extend(j.id for j in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(j.id for j in queued)
    assert (await stores.agent.list_jobs(JobQuery(lane="a' OR '1'='1"))).items == []


async def test_list_jobs_keyset_paging_newest_first(stores: Stores) -> None:
    ids: set[str] = set()
    for _ in range(3):
        ids.update(await _history(stores, 5))
    seen: list[str] = []
    cursor = None
    while True:
        page = await stores.master.list_jobs(JobQuery(limit=4, cursor=cursor))
        seen.extend(j.id for j in page.items)
        created = [j.created_at for j in page.items]
        assert created == sorted(created, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 15
    assert set(seen) == ids


async def test_bad_cursor_is_a_value_error(stores: Stores) -> None:
    with pytest.raises(ValueError, match="cursor"):
        await stores.master.list_jobs(JobQuery(cursor="%%%not-a-cursor"))


async def test_filter_values_are_parameters_not_sql(stores: Stores) -> None:
    await _history(stores, 2)
    evil = "default' OR 1=1 --"
    assert (await stores.master.list_jobs(JobQuery(lane=evil))).items == []
    assert (await stores.master.list_jobs(JobQuery(definition_id=evil))).items == []


async def test_get_unknown_job(stores: Stores) -> None:
    assert await stores.master.get_job("00000000-0000-0000-0000-000000000000") is None
    assert await stores.agent.get_job("00000000-0000-0000-0000-000000000000") is None


async def test_worker_topology(stores: Stores) -> None:
    now = datetime.now(UTC)
    worker = WorkerRecord(
        id="w-1",
        name="w",
        host="h",
        pid=1,
        agent="standalone",
        lanes=("default", "emails"),
        concurrency=8,
        started_at=now,
        last_heartbeat=now,
        status="active",
    )
    await stores.master.register_worker(worker)
    await stores.master.heartbeat_workers({"w-1": 5})
    [found] = await stores.master.list_workers()
    assert found.id == "w-1" and found.lanes == ("default", "emails")
    assert found.in_flight == 5 and found.status == "active"
    await stores.master.set_worker_status("w-1", "stopping")
    [found] = await stores.master.list_workers()
    assert found.status == "stopping"


async def test_agent_connections_are_recorded(stores: Stores) -> None:
    if not stores.master.capabilities.agent_registry:
        pytest.skip(f"the {stores.kind} master cannot record agents yet")
    from jobmaster.model import AgentRecord

    await stores.master.register_agents([AgentRecord("pg-1", "postgres", "db:5432/a"),
                                         AgentRecord("nats-1", "nats", "nats://n:4222")])
    [nats, pg] = await stores.master.list_agents()
    assert (nats.name, nats.kind, pg.name, pg.location) == ("nats-1", "nats", "pg-1",
                                                            "db:5432/a")
    assert pg.first_seen is not None and pg.last_seen is not None
    await stores.master.register_agents([AgentRecord("pg-1", "postgres", "db2:5432/a")])
    [_, again] = await stores.master.list_agents()
    assert again.location == "db2:5432/a" and again.first_seen == pg.first_seen
    assert again.last_seen is not None and again.last_seen >= pg.last_seen
