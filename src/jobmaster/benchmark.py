"""``jobmaster bench``: throughput and latency of a standalone cluster, measured end to end.

Phases (each printed as it completes):

1. bulk enqueue of ``--jobs`` no-op jobs (``bulk_once_now``), jobs/s;
2. processing: ``--workers`` real worker processes drain them, end-to-end jobs/s (first handler
   start to last result written) and each worker's peak RSS;
3. single enqueue (``once_now`` one by one), jobs/s;
4. latency: one worker process, jobs enqueued one by one at ``--rate`` jobs/s; enqueue -> handler
   start latency p50/p90/p99.

Workers are separate processes (``python -m jobmaster.benchmark worker ...``), like production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .app import JobMaster
from .config import ClusterConfig
from .handlers import JobContext, job_handler

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/test"
_latencies: list[float] = []
_first_start: list[float] = []


@job_handler(definition_id="bench.noop", max_retries=0)
async def noop(job: JobContext) -> None:
    """Does nothing: measures the engine, not the handler."""
    if not _first_start:
        _first_start.append(time.time())


@job_handler(definition_id="bench.latency", max_retries=0)
async def latency(job: JobContext) -> None:
    """Records enqueue -> start latency (both clocks are this machine's)."""
    _latencies.append(time.time() - job.msg_data.get_float("t"))


def make_config(backend: str, target: str, prefix: str, *, concurrency: int = 200,
                batch_size: int = 200, with_worker: bool = False) -> ClusterConfig:
    """The cluster the benchmark runs."""
    config = ClusterConfig.standalone("Bench")
    if backend == "postgres":
        config.use_postgres(target, table_prefix=prefix)
    elif backend == "sqlite":
        config.use_sqlite(target, table_prefix=prefix)
    elif backend == "mysql":
        config.use_mysql(target, table_prefix=prefix)
    else:
        raise SystemExit(f"jobmaster bench: unsupported backend {backend!r}")
    if with_worker:
        config.add_worker(concurrency=concurrency, batch_size=batch_size)
    return config


# -- worker process -------------------------------------------------------------------------------
async def _worker_main(args: argparse.Namespace) -> None:
    config = make_config(args.backend, args.target, args.prefix, concurrency=args.concurrency,
                         batch_size=args.batch_size, with_worker=True)
    app = JobMaster(config, handlers=[noop, latency])
    async with app:
        print("READY", flush=True)
        worker = app.workers[0]
        agent = next(iter(app.agents.values()))
        last, quiet_since = -1, time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            done = worker.stats.succeeded + worker.stats.failed
            if done != last:
                last, quiet_since = done, time.monotonic()
                continue
            if args.expect and done < args.expect:
                continue
            if time.monotonic() - quiet_since > 0.3 and not worker.in_flight:
                depth = await agent.queue_depth()
                if not depth.get("default", 0):
                    break
        last_flush = worker.stats.last_flush_at
    report = {
        "processed": last, "first_start": _first_start[0] if _first_start else None,
        "last_flush": last_flush, "peak_rss_mb": resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024, "latencies": _latencies,
        "cpu_seconds": time.process_time(),
    }
    print("REPORT " + json.dumps(report), flush=True)


def _spawn_worker(args: argparse.Namespace, expect: int = 0) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "jobmaster.benchmark", "worker", "--backend", args.backend,
               "--target", args.target, "--prefix", args.prefix, "--concurrency",
               str(args.concurrency), "--batch-size", str(args.batch_size), "--expect",
               str(expect)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("READY"):
            return
    raise SystemExit("jobmaster bench: a worker process failed to start")


def _collect(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    report: dict[str, Any] = {}
    for line in process.stdout:
        if line.startswith("REPORT "):
            report = json.loads(line[7:])
    if process.wait() != 0 or not report:
        raise SystemExit("jobmaster bench: a worker process failed")
    return report


# -- phases -----------------------------------------------------------------------------------------
async def _bulk(app: JobMaster, count: int) -> float:
    started = time.perf_counter()
    for start in range(0, count, 5000):
        await app.scheduler.bulk_once_now(noop, [None] * min(5000, count - start))
    return count / (time.perf_counter() - started)


async def _single(app: JobMaster, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await app.scheduler.once_now(noop, lane="bench-single")
    return count / (time.perf_counter() - started)


async def _paced(app: JobMaster, count: int, rate: float) -> None:
    interval = 1.0 / rate
    next_at = time.perf_counter()
    for _ in range(count):
        await app.scheduler.once_now(latency, {"t": time.time()})
        next_at += interval
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(
        values) > 1 else (values[0] if values else float("nan"))


async def _producer(args: argparse.Namespace) -> dict[str, Any]:
    app = JobMaster(make_config(args.backend, args.target, args.prefix), handlers=[noop, latency])
    results: dict[str, Any] = {}
    async with app:
        results["bulk_enqueue_jobs_per_s"] = await _bulk(app, args.jobs)
        print(f"bulk enqueue:      {results['bulk_enqueue_jobs_per_s']:>10,.0f} jobs/s "
              f"({args.jobs:,} jobs)", flush=True)
        workers = [_spawn_worker(args) for _ in range(args.workers)]
        reports = [_collect(p) for p in workers]
        first = min(r["first_start"] for r in reports if r["first_start"])
        last = max(r["last_flush"] for r in reports if r["last_flush"])
        processed = sum(r["processed"] for r in reports)
        results["processing_jobs_per_s"] = processed / (last - first)
        results["worker_peak_rss_mb"] = max(r["peak_rss_mb"] for r in reports)
        results["worker_cpu_us_per_job"] = sum(r["cpu_seconds"] for r in reports) / processed * 1e6
        print(f"processing:        {results['processing_jobs_per_s']:>10,.0f} jobs/s "
              f"({processed:,} no-op jobs, {args.workers} worker process(es), peak RSS "
              f"{results['worker_peak_rss_mb']:.0f} MB)", flush=True)
        print(f"worker CPU:        {results['worker_cpu_us_per_job']:>10,.0f} us/job (user + system "
              "time of the worker processes / jobs)", flush=True)
        single = min(args.jobs, args.single)
        results["single_enqueue_jobs_per_s"] = await _single(app, single)
        print(f"single enqueue:    {results['single_enqueue_jobs_per_s']:>10,.0f} jobs/s "
              f"({single:,} jobs, one at a time)", flush=True)
        worker = _spawn_worker(args, expect=args.latency_jobs)
        _wait_ready(worker)
        await _paced(app, args.latency_jobs, args.rate)
        values = _collect(worker)["latencies"]
        for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
            results[f"latency_{name}_ms"] = _percentile(values, q) * 1000
        print(f"latency @ {args.rate:g}/s:  p50 {results['latency_p50_ms']:.2f} ms, "
              f"p90 {results['latency_p90_ms']:.2f} ms, p99 {results['latency_p99_ms']:.2f} ms "
              f"({len(values)} jobs, enqueue -> handler start)", flush=True)
    return results


def run_bench(args: argparse.Namespace) -> int:
    """Entry point of ``jobmaster bench``."""
    if args.distributed:
        from .bench_distributed import run_distributed_bench

        return run_distributed_bench(args)
    args.prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    with tempfile.TemporaryDirectory(prefix="jobmaster-bench-") as folder:
        if args.backend == "sqlite":
            args.target = args.dsn or str(Path(folder) / "bench.db")
        else:
            default = DEFAULT_MYSQL if args.backend == "mysql" else DEFAULT_PG
            args.target = args.dsn or os.environ.get("JOBMASTER_BENCH_DSN", default)
        print(f"jobmaster bench: backend={args.backend} jobs={args.jobs:,} "
              f"workers={args.workers} concurrency={args.concurrency} "
              f"batch={args.batch_size} (tables {args.prefix}*)", flush=True)
        try:
            results = asyncio.run(_producer(args))
        finally:
            if args.backend == "postgres":
                asyncio.run(_drop_tables(args.target, args.prefix))
            elif args.backend == "mysql":
                asyncio.run(_drop_mysql_tables(args.target, args.prefix))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


async def _drop_tables(dsn: str, prefix: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        names = await conn.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE $1",
                                 prefix.replace("_", r"\_") + "%")
        for (name,) in names:
            await conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        await conn.close()


async def _drop_mysql_tables(dsn: str, prefix: str) -> None:
    import asyncmy

    from .backends.mysql.dsn import parse_dsn

    params = parse_dsn(dsn)
    conn = await asyncmy.connect(**params.connect_kwargs())
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = DATABASE() AND table_name LIKE %s",
                              (prefix.replace("_", "\\_") + "%",))
            for (name,) in await cur.fetchall():
                await cur.execute(f"DROP TABLE IF EXISTS `{name}`")
    finally:
        conn.close()


def add_bench_parser(sub: Any) -> None:
    """Register ``jobmaster bench`` on the CLI's sub-parsers."""
    bench = sub.add_parser("bench", help="throughput and latency benchmark")
    bench.add_argument("--backend", choices=["sqlite", "postgres", "mysql"], default="postgres")
    bench.add_argument("--dsn", help="PostgreSQL DSN or SQLite path (default: local service / "
                                     "temporary file)")
    bench.add_argument("--jobs", type=int, default=100_000)
    bench.add_argument("--workers", type=int, default=1, help="worker processes")
    bench.add_argument("--concurrency", type=int, default=200)
    bench.add_argument("--batch-size", type=int, default=200)
    bench.add_argument("--single", type=int, default=5000, help="jobs for single enqueue")
    bench.add_argument("--rate", type=float, default=200.0, help="jobs/s for the latency phase")
    bench.add_argument("--latency-jobs", type=int, default=1000)
    bench.add_argument("--json", help="also write the results to this JSON file")
    bench.add_argument("--distributed", action="store_true",
                       help="PostgreSQL master + PostgreSQL agent in two new databases (--dsn "
                            "is then an administrative database): end-to-end jobs/s and master "
                            "sync lag")
    bench.add_argument("--sync-ms", type=int, default=200,
                       help="--distributed: the sync_interval in ms")
    bench.add_argument("--prefill", action="store_true",
                       help="--distributed: enqueue everything before the worker runs")


def _worker_cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="jobmaster.benchmark worker")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--expect", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(_worker_main(args))
    except ImportError:
        asyncio.run(_worker_main(args))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker_cli(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m jobmaster.benchmark worker ...")
