"""``jobmaster demo``: a standalone cluster on an embedded SQLite file, no server needed.

It registers a few handlers, schedules a few hundred jobs (including a delayed one and one that
fails once and then succeeds on retry), runs a worker with a progress bar and prints a summary.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from .app import JobMaster
from .config import ClusterConfig
from .handlers import JobContext, job_handler
from .messages import MessageData
from .model import Backoff, JobStatus, Priority

_delayed_started: list[float] = []


@job_handler(definition_id="demo.greet")
async def greet(job: JobContext) -> None:
    """An async handler: pretend to send a greeting."""
    await asyncio.sleep(0.001)
    job.msg_data.get_str("name")


@job_handler(definition_id="demo.thumbnail", priority=Priority.LOW)
def thumbnail(job: JobContext) -> None:
    """A synchronous (blocking) handler: it runs in the worker's thread pool."""
    time.sleep(0.005)


@job_handler(definition_id="demo.flaky", max_retries=3,
             backoff=Backoff(initial=timedelta(milliseconds=300), jitter=0.1))
async def flaky(job: JobContext) -> None:
    """Fails on its first attempt, succeeds on the retry."""
    if job.attempt == 1:
        raise ConnectionError("the payment service timed out (demo: this attempt fails)")


@job_handler(definition_id="demo.reminder", priority=Priority.HIGH)
async def reminder(job: JobContext) -> None:
    """The delayed job."""
    _delayed_started.append(time.time())


def _bar(done: int, total: int, width: int = 40) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


async def run_demo(db_path: str | None, job_count: int) -> int:
    """Run the demo; returns the process exit code."""
    with tempfile.TemporaryDirectory(prefix="jobmaster-demo-") as folder:
        path = db_path or str(Path(folder) / "jobmaster.db")
        config = (ClusterConfig.standalone("Demo-Cluster").use_sqlite(path)
                  .add_worker(concurrency=32, batch_size=100))
        app = JobMaster(config, handlers=[greet, thumbnail, flaky, reminder])
        print(f"JobMaster demo — standalone cluster on SQLite ({path})")
        async with app:
            started = time.time()
            total = await _schedule(app, max(job_count, 10))
            delay_target = started + 2.0
            others_done = await _progress(app, total)
            elapsed = time.time() - started
            await app.sync_now()
            counts = {s: await _count(app, s) for s in (JobStatus.SUCCEEDED, JobStatus.FAILED)}
            stats = app.workers[0].stats
        lateness = (_delayed_started[0] - delay_target) if _delayed_started else None
        rate = (total - 1) / max(others_done - started, 1e-6)
        _summary(total, counts, stats.retried, elapsed, rate, lateness)
        return 0 if counts[JobStatus.SUCCEEDED] == total else 1


async def _schedule(app: JobMaster, job_count: int) -> int:
    greetings = job_count - 23
    await app.scheduler.bulk_once_now(greet, [MessageData(name=f"user-{i}")
                                              for i in range(greetings)])
    await app.scheduler.bulk_once_now(thumbnail, [{"image": f"img-{i}.png"} for i in range(20)])
    await app.scheduler.once_now(flaky, {"order": 42})
    await app.scheduler.once_after(reminder, timedelta(seconds=2), {"note": "delayed 2 s"})
    await app.scheduler.once_now(greet, {"name": "vip"}, priority=Priority.CRITICAL)
    return greetings + 20 + 3


async def _progress(app: JobMaster, total: int) -> float:
    """Show a progress bar until every job is final; returns when all but the delayed job
    were done (time.time()), for the throughput figure."""
    worker = app.workers[0]
    interactive = sys.stdout.isatty()
    last = -1
    others_done = 0.0
    while True:
        done = worker.stats.succeeded + worker.stats.failed + worker.stats.cancelled
        if done != last:
            line = _bar(done, total)
            print(("\r" + line) if interactive else line, end="" if interactive else "\n",
                  flush=True)
            last = done
        if done >= total - 1 and not others_done:
            others_done = time.time()
        if done >= total:
            break
        await asyncio.sleep(0.02 if done >= total - 1 else 0.1 if interactive else 0.5)
    if interactive:
        print()
    return others_done


async def _count(app: JobMaster, status: JobStatus) -> int:
    count, cursor = 0, None
    while True:
        page = await app.list_jobs(status=status, limit=1000, cursor=cursor)
        count += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return count


def _summary(total: int, counts: dict[JobStatus, int], retried: int, elapsed: float,
             rate: float, lateness: float | None) -> None:
    rows = [
        ("jobs scheduled", str(total)),
        ("succeeded", str(counts[JobStatus.SUCCEEDED])),
        ("failed", str(counts[JobStatus.FAILED])),
        ("retried (attempts that failed and were retried)", str(retried)),
        ("elapsed", f"{elapsed:.2f} s (includes the 2 s delayed job)"),
        ("throughput", f"{rate:.0f} jobs/s (every job but the delayed one)"),
        ("delayed job started", "n/a" if lateness is None else f"{lateness * 1000:+.0f} ms "
                                                               "from its due time"),
    ]
    width = max(len(name) for name, _ in rows)
    print("\nSummary")
    print("-" * (width + 24))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
