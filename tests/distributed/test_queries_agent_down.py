"""Issue 3 items 7 and 8: while one agent is down, get_job, list_jobs, cancel and reschedule
still work for the jobs of the agents that are up (and for the master's history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import jobmaster as jm
from jobmaster.model import WorkerRecord
from tests.distributed.apps.cluster import HANDLERS, build_config, record
from tests.distributed.conftest import prefix

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def _producer_with_two_agents(owned_pg: Any, pg_database: str
                                    ) -> tuple[Any, jm.JobMaster, list[str]]:
    a1_pg = owned_pg()
    spec: dict[str, Any] = {
        "id": "queries",
        "master": {"dsn": pg_database, "prefix": prefix("m")},
        "agents": [{"name": "a1", "dsn": a1_pg.dsn(), "prefix": "a1_"},
                   {"name": "a2", "dsn": pg_database, "prefix": prefix("a2")}],
    }
    producer = jm.JobMaster(build_config(spec), handlers=HANDLERS)
    await producer.start()
    assert producer.master is not None
    now = datetime.now(UTC)
    for name in ("a1", "a2"):  # live workers elsewhere (none runs: jobs stay queued)
        await producer.master.register_worker(WorkerRecord(
            id=f"w-{name}", name=name, host="h", pid=1, agent=name, lanes=("default",),
            concurrency=1, started_at=now, last_heartbeat=now, status="active"))
    ids = [(await producer.scheduler.once_now(record)).id for _ in range(20)]
    return a1_pg, producer, ids


async def test_get_list_cancel_work_while_another_agent_is_down(
        owned_pg: Any, pg_database: str) -> None:
    a1_pg, producer, ids = await _producer_with_two_agents(owned_pg, pg_database)
    try:
        on_a2 = [i for i in ids if (info := await producer.get_job(i)) and info.agent == "a2"]
        assert on_a2 and len(on_a2) < len(ids)
        a1_pg.stop("fast")
        info = await producer.get_job(on_a2[0])
        assert info is not None and info.status is jm.JobStatus.QUEUED
        page = await producer.list_jobs(limit=100)
        assert set(on_a2) <= {j.id for j in page.items}
        assert await producer.scheduler.reschedule(on_a2[1], datetime.now(UTC) + timedelta(
            minutes=1))
        assert await producer.scheduler.cancel(on_a2[2])
    finally:
        await producer.stop()


async def test_enqueue_never_fails_while_an_agent_is_down(owned_pg: Any, pg_database: str
                                                          ) -> None:
    a1_pg, producer, _ = await _producer_with_two_agents(owned_pg, pg_database)
    try:
        a1_pg.stop("fast")
        ids = [(await producer.scheduler.once_now(record)).id for _ in range(30)]
        ids += [j.id for j in await producer.scheduler.bulk_once_now(record, [None] * 200)]
        assert producer.agents["a2"] is not None
        depth = await producer.agents["a2"].queue_depth()
        assert depth.get("default", 0) >= len(ids)
    finally:
        await producer.stop()
