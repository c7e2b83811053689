"""NATS JetStream agent + PostgreSQL master: bulk enqueue and end-to-end no-op throughput.

    .venv/bin/python benchmarks/nats_bench.py --jobs 100000 \
        [--nats nats://127.0.0.1:4222] [--dsn postgresql://postgres@127.0.0.1:5432/postgres]

Phases:

1. bulk enqueue: ``--jobs`` no-op jobs published to the agent in calls of 5,000 (the call the
   router makes for a bulk enqueue), jobs/s from the producer process;
2. processing: one worker process (a ``JobMaster`` of a distributed cluster: PostgreSQL master,
   NATS agent, worker + syncer + rescuer in-process) drains them; jobs/s from the first handler
   start to the last written result, and to the moment the outbox is synced to the master.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from jobmaster.app import JobMaster
from jobmaster.backends.nats import NatsAgent, NatsSettings
from jobmaster.benchmark import _first_start, noop
from jobmaster.config import ClusterConfig
from jobmaster.model import Backoff, NewJob

AGENT = "nats"


def _config(args: argparse.Namespace) -> ClusterConfig:
    config = ClusterConfig(args.cluster).use_postgres_for_master(args.dsn, table_prefix=args.prefix)
    config.add_agent_connection(AGENT).use_nats_jetstream_for_agent(args.nats)
    config.add_worker(agent=AGENT, concurrency=args.concurrency, batch_size=args.batch_size)
    return config


def _jobs(count: int) -> list[NewJob]:
    backoff = json.dumps(Backoff().to_json())
    return [NewJob(str(uuid.uuid4()), "bench.noop", "default", 3, None, "{}", "{}", 0, 30_000,
                   backoff) for _ in range(count)]


async def _bulk(args: argparse.Namespace) -> float:
    agent = NatsAgent(NatsSettings(servers=(args.nats,), cluster=args.cluster), AGENT)
    await agent.open()
    try:
        batches = [_jobs(min(5000, args.jobs - s)) for s in range(0, args.jobs, 5000)]
        started = time.perf_counter()
        for batch in batches:
            await agent.enqueue(batch)
        return args.jobs / (time.perf_counter() - started)
    finally:
        await agent.close()


async def _worker(args: argparse.Namespace) -> None:
    app = JobMaster(_config(args), handlers=[noop])
    async with app:
        worker = app.workers[0]
        agent = app.agents[AGENT]
        while worker.stats.succeeded + worker.stats.failed < args.jobs:  # noqa: ASYNC110 (polls stats)
            await asyncio.sleep(0.02)
        processed_at = worker.stats.last_flush_at
        assert isinstance(agent, NatsAgent)
        events = agent.layout.events_stream
        # Polled by message count: reading (decoding) the outbox would compete with the syncer.
        while (await agent.js.stream_info(events)).state.messages:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        synced_at = time.time()
        report = {"processed": worker.stats.succeeded, "first_start": _first_start[0],
                  "last_flush": processed_at, "synced": synced_at}
        print("REPORT " + json.dumps(report), flush=True)


async def _drop(args: argparse.Namespace) -> None:
    import asyncpg

    agent = NatsAgent(NatsSettings(servers=(args.nats,), cluster=args.cluster), AGENT)
    await agent.open()
    await agent.drop()
    await agent.close()
    conn = await asyncpg.connect(args.dsn)
    try:
        for (name,) in await conn.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE $1",
                                        args.prefix.replace("_", r"\_") + "%"):
            await conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        await conn.close()


def _run_worker(args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--jobs", str(args.jobs), "--nats",
               args.nats, "--dsn", args.dsn, "--cluster", args.cluster, "--prefix", args.prefix,
               "--concurrency", str(args.concurrency), "--batch-size", str(args.batch_size)]
    if args.profile:
        command += ["--profile", args.profile]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for line in output.splitlines():
        if line.startswith("REPORT "):
            report: dict[str, Any] = json.loads(line[7:])
            return report
    raise SystemExit("nats_bench: the worker printed no report")


@contextlib.contextmanager
def _profiled(args: argparse.Namespace, phase: str) -> Iterator[None]:
    """Run the block under cProfile when ``--profile`` is given."""
    if not args.profile:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(f"{args.profile}-{phase}.prof")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--cluster", default=f"bench{uuid.uuid4().hex[:8]}")
    parser.add_argument("--prefix", default=f"bench_{uuid.uuid4().hex[:8]}_")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats to PREFIX-enqueue.prof and PREFIX-worker.prof")
    args = parser.parse_args()
    if args.worker:
        with _profiled(args, "worker"):
            try:
                import uvloop

                uvloop.run(_worker(args))
            except ImportError:
                asyncio.run(_worker(args))
        return
    print(f"nats_bench: {args.jobs:,} jobs, NATS {args.nats}, PostgreSQL master, one worker "
          f"process (concurrency {args.concurrency}, batch {args.batch_size})", flush=True)
    try:
        with _profiled(args, "enqueue"):
            rate = asyncio.run(_bulk(args))
        print(f"bulk enqueue:             {rate:>10,.0f} jobs/s", flush=True)
        report = _run_worker(args)
        first = report["first_start"]
        print(f"processing (end to end):  {report['processed'] / (report['last_flush'] - first):>10,.0f}"
              f" jobs/s (first start -> last result written)", flush=True)
        print(f"processing + master sync: {report['processed'] / (report['synced'] - first):>10,.0f}"
              f" jobs/s (first start -> outbox empty)", flush=True)
    finally:
        asyncio.run(_drop(args))


if __name__ == "__main__":
    main()
