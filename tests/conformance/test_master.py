"""MasterStore conformance: history queries, paging, filters, topology, schema state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.model import JobQuery, JobStatus, WorkerRecord

from .conftest import Stores, new_job
from .test_agent import claim, result


async def _history(stores: Stores, count: int, **kwargs: object) -> list[str]:
    jobs = [new_job(**kwargs) for _ in range(count)]  # type: ignore[arg-type]
    await stores.agent.enqueue(jobs)
    await stores.sync()
    return [j.id for j in jobs]


async def test_schema_is_current_after_migrate(stores: Stores) -> None:
    for store in (stores.agent, stores.master):
        state = await store.schema_state()
        assert state.up_to_date
        assert await store.migrate() == []  # idempotent


async def test_list_jobs_filters(stores: Stores) -> None:
    emails = await _history(stores, 3, lane="emails")
    await _history(stores, 2, definition_id="tests.other")
    page = await stores.master.list_jobs(JobQuery(lane="emails"))
    assert {j.id for j in page.items} == set(emails)
    page = await stores.master.list_jobs(JobQuery(definition_id="tests.other"))
    assert len(page.items) == 2
    assert all(j.status is JobStatus.QUEUED for j in page.items)
    [claimed] = await claim(stores, 1, lanes=["emails"])
    await stores.agent.finish([result(claimed)])
    await stores.sync()
    page = await stores.master.list_jobs(JobQuery(status=JobStatus.SUCCEEDED))
    assert [j.id for j in page.items] == [claimed.id]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert (await stores.master.list_jobs(JobQuery(created_from=future))).items == []
    past = datetime.now(UTC) - timedelta(hours=1)
    assert len((await stores.master.list_jobs(JobQuery(created_from=past))).items) == 5


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
