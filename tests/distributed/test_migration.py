"""Issue 3 item 9: a standalone PostgreSQL cluster with queued jobs and jobs scheduled for later is
switched to a distributed configuration (docs/migration-standalone-to-distributed.md): the
master is the same database and prefix, the agent named ``standalone`` is that same database and
prefix, and a new agent is added. No job is lost or run twice; the history is kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import jobmaster as jm
from tests.distributed.apps.cluster import HANDLERS, build_config, record
from tests.distributed.conftest import fetch, fetchval, prefix, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def test_standalone_to_distributed_loses_nothing_and_runs_nothing_twice(
        pg_database: str, shared_databases: Any, make_cluster: Any) -> None:
    p = prefix("sa")
    standalone_spec: dict[str, Any] = {"id": "migrate", "standalone": {"dsn": pg_database, "prefix": p}}
    standalone = make_cluster(standalone_spec)

    # 1. The standalone cluster runs for a while: some history.
    old = jm.JobMaster(build_config(standalone_spec), handlers=HANDLERS)
    await old.start()
    try:
        (old_worker,) = await standalone.start_ready(None, concurrency=10)
        history = [(await old.scheduler.once_now(record)).id for _ in range(50)]
        await wait_until(lambda: standalone.all_ran(history), 20,
                         "the standalone worker to run the first jobs")
        old_worker.terminate()
        assert old_worker.popen.wait(timeout=30) == 0
        # 2. With no worker left: queued jobs, jobs due soon, jobs due much later.
        queued = [j.id for j in await old.scheduler.bulk_once_now(record, [None] * 300)]
        queued += [(await old.scheduler.once_now(record)).id for _ in range(20)]
        soon = [(await old.scheduler.once_after(record, timedelta(seconds=3))).id
                for _ in range(20)]
        later = [(await old.scheduler.once_after(record, timedelta(hours=2))).id
                 for _ in range(10)]
        await old.sync_now()
    finally:
        await old.stop()
    assert await fetchval(pg_database, f"SELECT count(*) FROM {p}agent_job") == 350

    # 3. The same database as master and as the agent "standalone", plus a new agent.
    spec: dict[str, Any] = {
        "id": "migrate",
        "master": {"dsn": pg_database, "prefix": p},
        "agents": [{"name": "standalone", "dsn": pg_database, "prefix": p},
                   {"name": "new", "dsn": shared_databases(), "prefix": "jm_"}],
    }
    distributed = make_cluster(spec)
    distributed.out = standalone.out  # one record of executions across the switch
    app = jm.JobMaster(build_config(spec), handlers=HANDLERS)
    await app.start()
    try:
        await distributed.start_ready("standalone", concurrency=10)
        await distributed.start_ready("new", concurrency=10)
        fresh = [(await app.scheduler.once_now(record)).id for _ in range(100)]
        fresh += [j.id for j in await app.scheduler.bulk_once_now(record, [None] * 100)]
        # Jobs enqueued before the switch are visible (and cancellable) like any other.
        info = await app.get_job(later[0])
        assert info is not None and info.status is jm.JobStatus.QUEUED
        assert info.agent == "standalone"
        assert await app.scheduler.cancel(later[1])

        must_run = history + queued + soon + fresh

        async def all_succeeded() -> bool:
            done = await fetchval(pg_database, f"SELECT count(*) FROM {p}job WHERE "
                                  "status = 'succeeded' AND id = ANY($1::uuid[])", must_run)
            return bool(done == len(must_run))

        await wait_until(all_succeeded, 40, lambda: "every job SUCCEEDED\n" + distributed.logs(),
                         interval=0.1)
        runs = standalone.runs()
        assert set(runs) == set(must_run), "a job is missing or ran when it should not"
        assert max(runs.values()) == 1, [i for i, n in runs.items() if n > 1]
        agents = {r["id"]: r["agent"] for r in await fetch(
            pg_database, f"SELECT id::text, agent FROM {p}job WHERE id = ANY($1::uuid[])",
            must_run)}
        assert {agents[i] for i in queued + soon} == {"standalone"}
        assert {agents[i] for i in fresh} == {"standalone", "new"}  # routed over both
        # Far-future jobs wait on the standalone agent (one cancelled): neither lost nor run.
        waiting = await fetch(pg_database, f"SELECT id::text FROM {p}agent_job")
        assert {r["id"] for r in waiting} == set(later) - {later[1]}
        await app.sync_now()
        cancelled = await app.get_job(later[1])
        assert cancelled is not None and cancelled.status is jm.JobStatus.CANCELLED
        attempts = await fetchval(pg_database, f"SELECT count(*) FROM {p}attempt WHERE "
                                  "job_id = ANY($1::uuid[])", must_run)
        assert attempts == len(must_run)
    finally:
        await app.stop()
