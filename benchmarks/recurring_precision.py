"""How close to its slot a recurring job starts (PostgreSQL standalone, one worker).

    .venv/bin/python benchmarks/recurring_precision.py [--slots 30] [--poll 0.5]
        [--dsn postgresql://postgres@127.0.0.1:5432/jm_bench_recurring]

Creates an ``"every 1 seconds"`` schedule on a fresh table prefix, lets one worker (default
``poll_interval`` 500 ms, concurrency 10) run it for ``--slots`` slots, and prints the start
delay of each job relative to its slot (handler entry time minus ``scheduled_at``): p50, p90,
p99 and max, in milliseconds. The handler runs on the same machine as the database, so the two
clocks are one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import uuid
from datetime import UTC, datetime

import asyncpg

import jobmaster as jm

DELAYS: list[float] = []
ENOUGH = asyncio.Event()
WANTED = [32]


@jm.job_handler(definition_id="bench.precision")
async def record_start(job: jm.JobContext) -> None:
    started = datetime.now(UTC)
    assert job.scheduled_at is not None
    DELAYS.append((started - job.scheduled_at).total_seconds() * 1000)
    if len(DELAYS) >= WANTED[0]:
        ENOUGH.set()


async def ensure_database(dsn: str) -> None:
    base, _, name = dsn.rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def main(dsn: str, slots: int, poll: float) -> None:
    await ensure_database(dsn)
    prefix = f"p{uuid.uuid4().hex[:8]}_"
    config = (jm.ClusterConfig.standalone("precision").use_postgres(dsn, table_prefix=prefix)
              .add_worker(concurrency=10, poll_interval=poll))
    app = jm.JobMaster(config, handlers=[record_start])
    async with app:
        info = await app.scheduler.recurring(record_start, "every 1 seconds")
        WANTED[0] = slots + 2
        await ENOUGH.wait()
        await app.scheduler.cancel_recurring(info.id)
    delays = sorted(DELAYS[2:slots + 2])  # the first two slots were planned mid-second
    cuts = statistics.quantiles(delays, n=100, method="inclusive")
    print(f"{len(delays)} slots, poll_interval {poll * 1000:.0f} ms: start delay after the slot "
          f"p50 {cuts[49]:.1f} ms, p90 {cuts[89]:.1f} ms, p99 {cuts[98]:.1f} ms, "
          f"max {delays[-1]:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/"
                                         "jm_bench_recurring")
    parser.add_argument("--slots", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.5, help="worker poll_interval, seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.dsn, args.slots, args.poll))
