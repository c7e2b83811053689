"""Issue 3 item 7: an agent is down. Jobs inside it are not lost and run once when it returns;
new jobs route around it meanwhile, with no error to the producer.

Agent ``a1`` runs on a PostgreSQL instance this test owns, ``a2`` and the master on the shared
service. One real worker process serves each agent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

import jobmaster as jm
from tests.distributed.apps.cluster import HANDLERS, build_config, record, slow
from tests.distributed.conftest import fetch, fetchval, prefix, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_S = 4.0


async def test_agent_down_jobs_inside_survive_and_new_jobs_route_around_it(
        owned_pg: Any, pg_database: str, make_cluster: Any) -> None:
    a1_pg = owned_pg()
    master_prefix = prefix("m")
    spec: dict[str, Any] = {
        "id": "agentdown",
        "master": {"dsn": pg_database, "prefix": master_prefix},
        "agents": [{"name": "a1", "dsn": a1_pg.dsn(), "prefix": "a1_"},
                   {"name": "a2", "dsn": pg_database, "prefix": prefix("a2")}],
        "sync_ms": 100, "heartbeat_s": 1,
    }
    cluster = make_cluster(spec)
    producer = jm.JobMaster(build_config(spec), handlers=HANDLERS)
    await producer.start()
    try:
        await cluster.start_ready("a1", concurrency=2, lease=10)
        await cluster.start_ready("a2", concurrency=4, lease=10)

        # 80 jobs of 0.1 s, one call each: spread over both agents, a backlog on a1.
        first = [(await producer.scheduler.once_now(slow, {"seconds": 0.1})).id
                 for _ in range(80)]
        on_a1 = await fetchval(a1_pg.dsn(), "SELECT count(*) FROM a1_agent_job")
        assert on_a1 >= 10, on_a1
        a1_pg.stop("fast")
        stopped_at = time.monotonic()

        # a1 down: new jobs go to a2, no exception, no long stall.
        during: list[str] = []
        slowest = 0.0
        while time.monotonic() - stopped_at < OUTAGE_S:
            sent = time.monotonic()
            during.append((await producer.scheduler.once_now(record)).id)
            slowest = max(slowest, time.monotonic() - sent)
            await asyncio.sleep(0.02)
        await wait_until(lambda: cluster.all_ran(during), 15,
                         lambda: "the jobs enqueued during the outage to run\n" + cluster.logs())
        runs = cluster.runs()
        ran_meanwhile = sum(1 for i in first if runs[i])

        a1_pg.start()
        restarted_at = time.monotonic()
        everything = first + during

        async def all_succeeded() -> bool:
            done = await fetchval(
                pg_database, f"SELECT count(*) FROM {master_prefix}job "
                "WHERE status = 'succeeded' AND id = ANY($1::uuid[])", everything)
            return bool(done == len(everything))

        await wait_until(all_succeeded, 45, lambda: "every job SUCCEEDED on the master\n"
                         + cluster.logs(), interval=0.1)
        recovery = time.monotonic() - restarted_at

        rows = await fetch(pg_database, f"SELECT id::text, agent, attempt_count FROM "
                           f"{master_prefix}job WHERE id = ANY($1::uuid[])", everything)
        agent_of = {r["id"]: r["agent"] for r in rows}
        assert {agent_of[i] for i in during} == {"a2"}, Counter(agent_of[i] for i in during)
        by_agent = Counter(agent_of[i] for i in first)
        assert by_agent["a1"] >= 10, by_agent
        runs = cluster.runs()
        assert set(runs) == set(everything)
        assert max(runs.values()) == 1, [i for i, n in runs.items() if n > 1]
        assert max(r["attempt_count"] for r in rows) == 1
        assert await fetchval(a1_pg.dsn(), "SELECT count(*) FROM a1_agent_job") == 0
        print(f"\nagent a1 down {OUTAGE_S:.0f}s with {on_a1} jobs inside; {len(during)} new jobs "
              f"routed to a2 (slowest enqueue {slowest * 1000:.0f} ms); {ran_meanwhile}/80 of "
              f"the first jobs had run; all finished {recovery:.2f}s after a1 restarted "
              f"(a1 ran {by_agent['a1']})")
    finally:
        await producer.stop()
