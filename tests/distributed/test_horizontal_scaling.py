"""Issue 3 item 10: 1 master + 2 PostgreSQL agents in separate databases + 4 worker processes
(2 per agent), one removed (SIGTERM: drained) and one added during a 20,000-job run.

Every job is executed exactly once (counted independently by the handler, one line per run in a
file per process), the work spreads over both agents, and the removed worker drains gracefully:
exit code 0, every job it started finished, and no ABANDONED attempt (nor any other
non-success) recorded against it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

import jobmaster as jm
from tests.distributed.apps.cluster import HANDLERS, build_config, slow
from tests.distributed.conftest import fetch, fetchval, prefix, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 20_000
BATCH = 500
JOB_S = 0.01  # each job takes 10 ms: the drained worker has jobs running when stopped
PACE_S = 0.2  # between bulk calls: the run lasts long enough to add and remove workers


async def test_twenty_thousand_jobs_on_two_agents_with_workers_added_and_removed(
        pg_database: str, shared_databases: Any, make_cluster: Any) -> None:
    master_prefix = prefix("m")
    spec: dict[str, Any] = {
        "id": "scaling",
        "master": {"dsn": pg_database, "prefix": master_prefix},
        "agents": [{"name": "a1", "dsn": shared_databases(), "prefix": "jm_"},
                   {"name": "a2", "dsn": shared_databases(), "prefix": "jm_"}],
        "sync_ms": 100, "heartbeat_s": 1,
    }
    sizing = {"concurrency": 50, "batch": 100, "lease": 10}
    cluster = make_cluster(spec)
    producer = jm.JobMaster(build_config(spec), handlers=HANDLERS)
    await producer.start()
    try:
        started = time.monotonic()
        a1_first, _a1_second = await cluster.start_ready("a1", 2, **sizing)
        await cluster.start_ready("a2", 2, **sizing)
        ids: list[str] = []
        removed_at = added_at = 0.0
        for batch in range(JOBS // BATCH):
            if batch == 12:
                a1_first.terminate()  # drain one worker mid-run
                removed_at = time.monotonic() - started
            if batch == 20:
                a1_third = cluster.start_worker("a1", **sizing)  # and add another
                added_at = time.monotonic() - started
            ids.extend(j.id for j in await producer.scheduler.bulk_once_now(
                slow, [{"seconds": JOB_S}] * BATCH))
            await asyncio.sleep(PACE_S)
        enqueued = time.monotonic() - started
        assert len(set(ids)) == JOBS

        await wait_until(lambda: len(cluster.runs()) >= JOBS, 60,
                         lambda: f"{JOBS} jobs to run, {len(cluster.runs())} did\n"
                         + cluster.logs(), interval=0.2)
        ran = time.monotonic() - started
        assert a1_first.popen.wait(timeout=30) == 0, a1_first.log()[-3000:]
        assert "stopped" in a1_first.log()
        assert a1_third.ready()

        async def synced() -> bool:
            done = await fetchval(pg_database, f"SELECT count(*) FROM {master_prefix}job "
                                  "WHERE status = 'succeeded'")
            return bool(done == JOBS)

        await wait_until(synced, 30, "the master history to hold every job", interval=0.2)

        runs = cluster.runs()
        assert set(runs) == set(ids), "a job is missing or an unknown job ran"
        assert max(runs.values()) == 1, [i for i, n in runs.items() if n > 1][:5]
        by_agent = Counter({r["agent"]: r["n"] for r in await fetch(
            pg_database, f"SELECT agent, count(*) AS n FROM {master_prefix}job GROUP BY agent")})
        assert sum(by_agent.values()) == JOBS
        assert min(by_agent["a1"], by_agent["a2"]) >= JOBS * 0.2, by_agent
        attempts = await fetch(
            pg_database, f"SELECT worker_id, outcome, count(*) AS n FROM {master_prefix}attempt "
            "GROUP BY worker_id, outcome")
        assert sum(r["n"] for r in attempts) == JOBS  # one attempt per job: nothing re-run
        assert {r["outcome"] for r in attempts} == {"succeeded"}, attempts
        by_process: Counter[str] = Counter()
        for row in attempts:
            for process in cluster.processes:
                if row["worker_id"].startswith(process.worker_prefix):
                    by_process[process.label] += row["n"]
        assert by_process[a1_first.label] > 0, by_process  # it did work before it was drained
        own = f"{a1_first.pid}.log"
        lines = (cluster.out / own).read_text().split("\n")
        started_by_it = sum(1 for line in lines if line.startswith("start "))
        assert started_by_it == sum(1 for line in lines if line.startswith("run "))  # finished all
        assert by_process[a1_third.label] > 0, by_process  # the added worker took work
        print(f"\n{JOBS} jobs: enqueued in {enqueued:.1f}s, all run after {ran:.1f}s; by agent "
              f"{dict(by_agent)}; by process {dict(by_process)}; removed {a1_first.label} at "
              f"{removed_at:.1f}s (rc 0), added {a1_third.label} at {added_at:.1f}s")
    finally:
        await producer.stop()
