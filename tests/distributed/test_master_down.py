"""Issue 3 item 6 (reference/faults.md F9): the master is down for a while, the agent is up.

The master runs on a PostgreSQL instance this test owns and stops with ``pg_ctl -m immediate``
(like a crash); the agent is on the shared service. A real worker process runs on the agent, a
producer-only JobMaster in this process enqueues through the agent. While the master is down
enqueue and execution go on and the agent outbox grows; when it returns the history converges:
every job SUCCEEDED on the master, none missing, each executed exactly once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import jobmaster as jm
from tests.distributed.apps.cluster import HANDLERS, build_config, record
from tests.distributed.conftest import fetchval, prefix, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_S = 6.0  # 2x the worker lease (F9)


async def test_master_down_enqueue_and_execution_go_on_and_history_converges(
        owned_pg: Any, pg_database: str, make_cluster: Any) -> None:
    master_pg = owned_pg()
    master_dsn = master_pg.dsn()
    spec: dict[str, Any] = {
        "id": "masterdown",
        "master": {"dsn": master_dsn, "prefix": "m_"},
        "agents": [{"name": "a1", "dsn": pg_database, "prefix": prefix("a1")}],
        "sync_ms": 100, "heartbeat_s": 1,
    }
    agent_dsn, agent_prefix = pg_database, spec["agents"][0]["prefix"]
    cluster = make_cluster(spec)
    producer = jm.JobMaster(build_config(spec), handlers=HANDLERS)
    await producer.start()  # creates both schemas before the worker opens them
    try:
        await cluster.start_ready("a1", concurrency=20, lease=3)

        # Master up: the producer's router learns the topology (a live worker on a1).
        before = [j.id for j in await producer.scheduler.bulk_once_now(record, [None] * 200)]
        await wait_until(lambda: fetchval(
            master_dsn, "SELECT count(*) = 200 FROM m_job WHERE status = 'succeeded'"),
            20, "the first 200 jobs SUCCEEDED on the master")

        master_pg.stop("immediate")
        stopped_at = time.monotonic()

        # Master down: enqueue one by one and in bulk, through the agent, without an error.
        during: list[str] = []
        slowest = 0.0
        while time.monotonic() - stopped_at < OUTAGE_S:
            sent = time.monotonic()
            during.append((await producer.scheduler.once_now(record)).id)
            during.extend(j.id for j in await producer.scheduler.bulk_once_now(
                record, [None] * 100))
            slowest = max(slowest, time.monotonic() - sent)
            await asyncio.sleep(0.2)
        # ... and the worker executes them: every one ran, while the master is still down.
        await wait_until(lambda: cluster.all_ran(during), 10,
                         "the jobs enqueued during the outage to run")
        assert not master_pg.running()
        outbox = await fetchval(agent_dsn, f"SELECT count(*) FROM {agent_prefix}agent_outbox")
        assert outbox >= len(during), (outbox, len(during))  # one final event per job at least

        restart_took = master_pg.start()
        restarted_at = time.monotonic()
        everything = before + during

        async def converged() -> bool:
            done = await fetchval(
                master_dsn, "SELECT count(*) FROM m_job WHERE status = 'succeeded' "
                "AND id = ANY($1::uuid[])", everything)
            return bool(done == len(everything))

        await wait_until(converged, 40, lambda: "the history to converge\n" + cluster.logs(),
                         interval=0.1)
        convergence = time.monotonic() - restarted_at

        # After the outage the producer works as before (its master connections came back).
        after = [j.id for j in await producer.scheduler.bulk_once_now(record, [None] * 100)]
        everything += after
        await wait_until(converged, 20, "the jobs enqueued after the outage to converge")
        await wait_until(lambda: fetchval(
            agent_dsn, f"SELECT count(*) = 0 FROM {agent_prefix}agent_outbox"), 10,
            "the outbox to be trimmed")

        runs = cluster.runs()
        assert set(runs) == set(everything), "a job is missing or unknown ran"
        assert max(runs.values()) == 1, [i for i, n in runs.items() if n > 1][:5]
        assert await fetchval(master_dsn, "SELECT count(*) FROM m_job") == len(everything)
        assert await fetchval(
            master_dsn, "SELECT count(*) FROM m_attempt WHERE outcome = 'succeeded' "
            "AND number = 1") == len(everything)
        assert await fetchval(master_dsn, "SELECT count(*) FROM m_attempt") == len(everything)
        assert await fetchval(agent_dsn, f"SELECT count(*) FROM {agent_prefix}agent_job") == 0
        info = await producer.get_job(during[0])
        assert info is not None and info.status is jm.JobStatus.SUCCEEDED
        assert info.agent == "a1" and len(info.attempts) == 1
        print(f"\nmaster down {OUTAGE_S:.0f}s: {len(during)} jobs enqueued and run meanwhile "
              f"(slowest enqueue round {slowest * 1000:.0f} ms), outbox {outbox} events; "
              f"restart {restart_took:.2f}s; history converged {convergence:.2f}s after restart")
    finally:
        await producer.stop()
