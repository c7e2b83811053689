"""How fast the HTTP API lists jobs with 1,000,000 finished jobs in the history (PostgreSQL).

    .venv/bin/python benchmarks/api_list_jobs.py [--rows 1000000] [--requests 60]
        [--dsn postgresql://postgres@127.0.0.1:5432/jm_bench_api]

Fills the master ``job`` table of a fresh PostgreSQL database with ``--rows`` finished jobs
(``INSERT ... SELECT generate_series``: 20 definitions, 5 lanes, 90 % succeeded / 8 % failed /
2 % cancelled, 10 % from 50 schedules, created over 30 days), serves the API with uvicorn on
a loopback port, and sends ``--requests`` sequential requests per filter through real HTTP
(httpx, keep-alive). Prints p50 / p95 / max per filter, in milliseconds. The database is
reused when it already holds the rows (``--refill`` to rebuild).

The migrations now create the (definition_id, lane, created_at, id) index and the extended
statistics on (status, definition_id, lane) (``0004_master_list_indexes``);
``--drop-proposed`` removes them to reproduce the figures without them, ``--proposed-indexes``
adds them back.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import uvicorn

import jobmaster as jm
from jobmaster.api import ApiSettings, AuthConfig, create_app

KEY = "bench-key-0123456789abcdef"
PREFIX = "bench_"

FILL = """
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at,
                    created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                    idempotency_key, schedule_id, trigger_source, last_error, finished_at, agent)
SELECT md5(i::text)::uuid, 3,
       CASE WHEN i % 50 = 0 THEN 'cancelled' WHEN i % 12 = 0 THEN 'failed' ELSE 'succeeded' END,
       'definition-' || (i % 20), 'lane-' || (i % 5), 3,
       $1::timestamptz - (i * interval '2.592 seconds'),
       $1::timestamptz - (i * interval '2.592 seconds'),
       '{{"UserId":"u' || i || '"}}', '{{"team":"t' || (i % 7) || '"}}',
       1, 3, 30000, NULL,
       CASE WHEN i % 10 = 0 THEN 'schedule-' || (i % 50) END,
       CASE WHEN i % 10 = 0 THEN 'dynamic_recurring' ELSE 'once' END,
       CASE WHEN i % 12 = 0 THEN 'RuntimeError: boom' END,
       $1::timestamptz - (i * interval '2.592 seconds') + interval '40 milliseconds',
       'standalone'
FROM generate_series(1, $2::int) AS i
"""


PROPOSED = [
    f"CREATE INDEX IF NOT EXISTS {PREFIX}job_definition_lane "
    f"ON {PREFIX}job (definition_id, lane, created_at DESC, id DESC)",
    f"CREATE STATISTICS IF NOT EXISTS {PREFIX}job_filters (mcv, dependencies) "
    f"ON status, definition_id, lane FROM {PREFIX}job",
    f"ANALYZE {PREFIX}job",
]
DROP_PROPOSED = [f"DROP INDEX IF EXISTS {PREFIX}job_definition_lane",
                 f"DROP STATISTICS IF EXISTS {PREFIX}job_filters", f"ANALYZE {PREFIX}job"]


def cases(now: datetime) -> dict[str, dict[str, Any]]:
    day = timedelta(days=1)
    return {
        "no filter": {},
        "status=failed": {"status": "failed"},
        "status=cancelled": {"status": "cancelled"},
        "definition": {"definition": "definition-7"},
        "lane": {"lane": "lane-3"},
        "schedule": {"schedule": "schedule-10"},
        "status+definition+lane": {"status": "failed", "definition": "definition-4",
                                   "lane": "lane-4"},
        "time range (1 day, 10 days ago)": {"created_from": (now - 10 * day).isoformat(),
                                            "created_to": (now - 9 * day).isoformat()},
        "status+time range": {"status": "cancelled",
                              "created_from": (now - 20 * day).isoformat(),
                              "created_to": (now - 19 * day).isoformat()},
        "no match: cancelled+definition-1": {"status": "cancelled", "definition": "definition-1"},
        "no match: definition-1+lane-2": {"definition": "definition-1", "lane": "lane-2"},
        "metadata team=t3": {"metadata": "team=t3"},
        "metadata team=t3 + status=failed": {"metadata": "team=t3", "status": "failed"},
        "page 50 deep (cursor)": {"_deep": 50},
    }


async def prepare(dsn: str, rows: int, refill: bool, now: datetime,
                  statements: list[str]) -> None:
    app = jm.JobMaster(jm.ClusterConfig.standalone("bench").use_postgres(dsn,
                                                                          table_prefix=PREFIX))
    await app.migrate()
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval(f"SELECT count(*) FROM {PREFIX}job")
        if have != rows or refill:
            print(f"filling {rows:,} finished jobs ...", flush=True)
            started = time.perf_counter()
            await conn.execute(f"TRUNCATE {PREFIX}job, {PREFIX}attempt")
            await conn.execute(FILL.format(p=PREFIX), now, rows)
            await conn.execute(f"VACUUM ANALYZE {PREFIX}job")
            print(f"filled in {time.perf_counter() - started:.1f} s", flush=True)
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def ensure_database(dsn: str) -> None:
    base, _, name = dsn.rpartition("/")
    conn = await asyncpg.connect(base + "/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def measure(client: httpx.AsyncClient, params: dict[str, Any], count: int) -> list[float]:
    timings = []
    deep = params.pop("_deep", 0)
    cursor = None
    if deep:  # walk to the page, then time requests of that page
        for _ in range(deep):
            cursor = (await client.get("/api/jobs", params={"limit": 50,
                                                            **({"cursor": cursor} if cursor
                                                               else {})})).json()["next_cursor"]
        params = {"cursor": cursor}
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get("/api/jobs", params={"limit": 50, **params})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:200]
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/jm_bench_api")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="add the proposed index and statistics first")
    parser.add_argument("--drop-proposed", action="store_true",
                        help="remove the proposed index and statistics first")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    now = datetime.now(UTC).replace(microsecond=0)
    await ensure_database(args.dsn)
    statements = PROPOSED if args.proposed_indexes else DROP_PROPOSED if args.drop_proposed \
        else []
    await prepare(args.dsn, args.rows, args.refill, now, statements)
    app = jm.JobMaster(jm.ClusterConfig.standalone("bench").use_postgres(args.dsn,
                                                                          table_prefix=PREFIX))
    auth = AuthConfig().add_api_key("bench", KEY, "viewer")
    settings = ApiSettings(requests_per_second=100_000, burst_requests=100_000)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with app:
        server = uvicorn.Server(uvicorn.Config(create_app(app, auth, settings=settings),
                                               host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"x-api-key": KEY}, timeout=30) as client:
            await measure(client, {}, 5)  # warm up connections and plans
            print(f"{'filter':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  (limit=50, "
                  f"{args.requests} requests, {args.rows:,} rows)")
            worst = 0.0
            for name, params in cases(now).items():
                timings = sorted(await measure(client, dict(params), args.requests))
                p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                worst = max(worst, p95)
                print(f"{name:34} {statistics.median(timings):8.1f} {p95:8.1f} "
                      f"{timings[-1]:8.1f}", flush=True)
            print(f"worst p95: {worst:.1f} ms ({'OK' if worst < 200 else 'OVER'} the 200 ms target)")
        server.should_exit = True
        await serving


if __name__ == "__main__":
    asyncio.run(main())
