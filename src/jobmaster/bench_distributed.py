"""Distributed cluster, PostgreSQL master + PostgreSQL agent (separate databases), one worker
process: end-to-end no-op throughput and master sync lag (issue 3 item 11).

    .venv/bin/python benchmarks/distributed_bench.py --jobs 100000 \
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--concurrency 200] \
        [--batch-size 200] [--sync-ms 200] [--json results.json]

``--dsn`` names an administrative database of the server: the benchmark creates a master
database and an agent database next to it and drops both at the end.

Phases:

1. a worker process starts (a ``JobMaster`` of the distributed cluster with one worker on the
   agent, plus its syncer, rescuer and topology heartbeat, like ``jobmaster worker``);
2. the producer (this process, a producer-only ``JobMaster``) bulk-enqueues ``--jobs`` no-op
   jobs through its router (calls of 5,000: COPY into the agent), while the worker runs them
   (with ``--prefill``: the worker process is paused with SIGSTOP during the enqueue and resumed
   after it, so processing does not share the 2 cores with the producer; "end to end" then
   starts at the resume);
3. it waits until every job is ``SUCCEEDED`` in the master history.

Printed figures:

- bulk enqueue, jobs/s;
- processing, jobs/s: first handler start -> last result written on the agent (the worker);
- end to end, jobs/s: start of the enqueue (``--prefill``: the resume) -> the last job present
  in the master history (its ``updated_at``, the master's clock; the producer polls the count
  only every 250 ms so as not to take CPU from the run);
- master sync lag p50/p90/p99/max: for every job, the time from its completion on the agent
  (``finished_at``, the agent's clock in the statement that completed it) to its arrival in the
  master history (``updated_at``, the master's clock in the statement that inserted it). Both
  databases are on one server here, so one clock; on separate servers keep them NTP-synced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .app import JobMaster
from .benchmark import _first_start, noop
from .config import ClusterConfig

DEFAULT_DSN = os.environ.get("JOBMASTER_BENCH_DSN",
                             "postgresql://postgres@127.0.0.1:5432/postgres")
AGENT = "pg1"


def make_config(master: str, agent: str, *, sync_ms: int, worker: dict[str, int] | None = None
                ) -> ClusterConfig:
    config = ClusterConfig("DistBench", sync_interval=timedelta(milliseconds=sync_ms),
                           run_planner=False)
    config.use_postgres_for_master(master)
    config.add_agent_connection(AGENT).use_postgres_for_agent(agent)
    if worker is not None:
        config.add_worker(agent=AGENT, concurrency=worker["concurrency"],
                          batch_size=worker["batch_size"])
    return config


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


# -- the worker process ---------------------------------------------------------------------------
async def _worker_main(args: argparse.Namespace) -> None:
    config = make_config(args.master, args.agent, sync_ms=args.sync_ms,
                         worker={"concurrency": args.concurrency,
                                 "batch_size": args.batch_size})
    app = JobMaster(config, handlers=[noop])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await app.start()
    print("READY", flush=True)
    await stop.wait()
    worker = app.workers[0]
    syncer = app.syncer
    report = {
        "processed": worker.stats.succeeded + worker.stats.failed,
        "first_start": _first_start[0] if _first_start else None,
        "last_flush": worker.stats.last_flush_at,
        "synced_total": syncer.synced_total if syncer is not None else None,
        # The syncer's own measure, where this version has it: per batch, how long its oldest
        # event waited (so an upper bound of the lag of the batch's jobs).
        "syncer_lags": list(getattr(syncer, "recent_lags", [])),
        "cpu_seconds": time.process_time(),
    }
    await app.stop()
    print("REPORT " + json.dumps(report), flush=True)


def _worker_cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="distributed_bench.py worker")
    parser.add_argument("--master", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--sync-ms", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(_worker_main(args))
    except ImportError:
        asyncio.run(_worker_main(args))


# -- the producer -------------------------------------------------------------------------------
async def _count_master(conn: asyncpg.Connection) -> int:
    value: int = await conn.fetchval("SELECT count(*) FROM jm_job WHERE status = 'succeeded'")
    return value


def _spawn_worker(args: argparse.Namespace, master: str, agent: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobmaster.bench_distributed", "worker", "--master", master,
         "--agent", agent,
         "--concurrency", str(args.concurrency), "--batch-size", str(args.batch_size),
         "--sync-ms", str(args.sync_ms)], stdout=subprocess.PIPE, text=True)


async def _run(args: argparse.Namespace, master: str, agent: str) -> dict[str, Any]:
    producer = JobMaster(make_config(master, agent, sync_ms=args.sync_ms), handlers=[noop])
    await producer.start()  # creates both schemas before the worker opens them
    worker = _spawn_worker(args, master, agent)
    results: dict[str, Any] = {"jobs": args.jobs}
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.startswith("READY"):
                break
        else:
            raise SystemExit("distributed_bench: the worker process failed to start")
        watch = await asyncpg.connect(master)
        if args.prefill:  # the worker is registered (the router sends to its agent) but paused
            worker.send_signal(signal.SIGSTOP)
        started = time.perf_counter()
        for first in range(0, args.jobs, 5000):
            await producer.scheduler.bulk_once_now(noop, [None] * min(5000, args.jobs - first))
        enqueued = time.perf_counter()
        results["bulk_enqueue_jobs_per_s"] = args.jobs / (enqueued - started)
        print(f"bulk enqueue:   {results['bulk_enqueue_jobs_per_s']:>10,.0f} jobs/s", flush=True)
        if args.prefill:
            started = time.perf_counter()
            worker.send_signal(signal.SIGCONT)
        started_epoch = time.time() - (time.perf_counter() - started)
        # Poll rarely (a count over a growing history costs the server CPU the run needs); the
        # end is when the last job reached the master, by the master's clock (this machine's).
        deadline = time.perf_counter() + max(120.0, args.jobs / 500)
        while await _count_master(watch) < args.jobs:
            if time.perf_counter() > deadline:
                raise SystemExit("distributed_bench: the master history did not converge")
            await asyncio.sleep(0.25)
        last_epoch: float = await watch.fetchval(
            "SELECT extract(epoch FROM max(updated_at))::float8 FROM jm_job")
        in_master = started + (last_epoch - started_epoch)
        held = await watch.fetchval("SELECT count(*) FROM jm_held_job")
        lag = await watch.fetchrow(
            "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY s) AS p, "
            "max(s) AS max FROM (SELECT extract(epoch FROM updated_at - finished_at) AS s "
            "FROM jm_job) t")
        await watch.close()
        assert lag is not None
        worker.send_signal(signal.SIGTERM)
        report: dict[str, Any] = {}
        for line in worker.stdout:
            if line.startswith("REPORT "):
                report = json.loads(line[7:])
        if worker.wait(timeout=60) != 0 or not report:
            raise SystemExit("distributed_bench: the worker process failed")
    finally:
        if worker.poll() is None:
            worker.kill()
        await producer.stop()
    results["processing_jobs_per_s"] = report["processed"] / (
        report["last_flush"] - report["first_start"])
    results["end_to_end_jobs_per_s"] = args.jobs / (in_master - started)
    results["held_on_master"] = held
    for name, value in zip(("p50", "p90", "p99"), lag["p"], strict=True):
        results[f"sync_lag_{name}_ms"] = value * 1000
    results["sync_lag_max_ms"] = float(lag["max"]) * 1000
    lags = sorted(report.get("syncer_lags") or [])
    if lags:
        results["syncer_batch_lag_p99_ms"] = lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000
        results["syncer_batch_lags_ms"] = [round(lag * 1000) for lag in lags]
    print(f"processing:     {results['processing_jobs_per_s']:>10,.0f} jobs/s "
          f"({report['processed']:,} no-op jobs, 1 worker process, first start -> last result)")
    if report.get("cpu_seconds") is not None:  # stable across runs on a busy machine
        results["worker_cpu_us_per_job"] = report["cpu_seconds"] / args.jobs * 1e6
        print(f"worker CPU:     {results['worker_cpu_us_per_job']:>10,.0f} us/job (user + system "
              "time of the worker process, syncer included, / jobs)")
    print(f"end to end:     {results['end_to_end_jobs_per_s']:>10,.0f} jobs/s "
          f"({'resume' if args.prefill else 'enqueue start'} -> every job SUCCEEDED in the master "
          "history)")
    print(f"master sync lag: p50 {results['sync_lag_p50_ms']:.0f} ms, p90 "
          f"{results['sync_lag_p90_ms']:.0f} ms, p99 {results['sync_lag_p99_ms']:.0f} ms, max "
          f"{results['sync_lag_max_ms']:.0f} ms (completion on the agent -> in the master)")
    if lags:
        print(f"syncer batches: p99 {results['syncer_batch_lag_p99_ms']:.0f} ms (app.syncer: "
              f"oldest event of each of the last {len(lags)} batches)")
    return results


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_distributed_bench(args: argparse.Namespace) -> int:
    """``jobmaster bench --distributed``: a master and an agent in two new databases."""
    dsn = args.dsn or DEFAULT_DSN
    run = uuid.uuid4().hex[:8]
    names = {"master": f"jm_bench_master_{run}", "agent": f"jm_bench_agent_{run}"}
    for name in names.values():
        asyncio.run(_admin(dsn, f'CREATE DATABASE "{name}"'))
    print(f"distributed bench: PostgreSQL master {names['master']} + PostgreSQL agent "
          f"{names['agent']}, {args.jobs:,} jobs, 1 worker process, concurrency "
          f"{args.concurrency}, batch {args.batch_size}, sync every {args.sync_ms} ms"
          f"{', prefill' if args.prefill else ''}",
          flush=True)
    try:
        results = asyncio.run(_run(args, with_database(dsn, names["master"]),
                                   with_database(dsn, names["agent"])))
    finally:
        for name in names.values():
            asyncio.run(_admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker_cli(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m jobmaster.bench_distributed worker ... "
                         "(run the benchmark with `jobmaster bench --distributed`)")
