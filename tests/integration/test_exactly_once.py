"""Two real worker processes share one cluster: 5,000 jobs, each executed exactly once."""

from __future__ import annotations

import collections
import random
import signal
import time

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import record

from .conftest import Cluster, wait_until

pytestmark = pytest.mark.slow

JOBS = 5000


async def test_two_workers_run_5000_jobs_exactly_once(cluster: Cluster) -> None:
    first, second = await cluster.workers.start_ready(
        "full", count=2, JM_IT_CONCURRENCY="20", JM_IT_BATCH="50"
    )
    began = time.monotonic()
    receipts = await cluster.producer.scheduler.bulk_once_now(record, [{} for _ in range(JOBS)])
    ids = {r.id for r in receipts}
    assert len(ids) == JOBS

    def runs() -> list[str]:
        return [e.job_id for e in cluster.executions() if e.event == "run"]

    await wait_until(
        lambda: len(runs()) >= JOBS,
        90,
        lambda: f"{JOBS} executions, got {len(runs())}\n" + cluster.workers.logs(),
    )
    elapsed = time.monotonic() - began

    succeeded: list[jm.JobInfo] = []

    async def all_succeeded() -> bool:
        succeeded[:] = await cluster.history(jm.JobStatus.SUCCEEDED)
        return len(succeeded) >= JOBS

    await wait_until(
        all_succeeded, 30, lambda: f"{JOBS} SUCCEEDED jobs in the history, got {len(succeeded)}"
    )

    # Stop both workers gracefully; nothing may run after this point.
    for process in (first, second):
        process.popen.send_signal(signal.SIGTERM)
    for process in (first, second):
        assert process.popen.wait(timeout=30) == 0, process.log()[-3000:]

    executions = [e for e in cluster.executions() if e.event == "run"]
    counts = collections.Counter(e.job_id for e in executions)
    duplicates = {job_id: n for job_id, n in counts.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} jobs ran more than once: {list(duplicates)[:5]}"
    assert set(counts) == ids, f"missing: {len(ids - set(counts))}, unknown: {set(counts) - ids}"
    assert all(e.attempt == 1 for e in executions)

    share = collections.Counter(e.pid for e in executions)
    assert set(share) == {first.pid, second.pid}, share
    assert min(share.values()) >= JOBS * 0.01, f"one worker did almost nothing: {share}"

    history = await cluster.history()
    assert len(history) == JOBS
    assert {j.id for j in succeeded} == ids
    assert all(info.attempt_count == 1 for info in succeeded)
    # The attempt history of each job (get_job reads it from the master).
    ran_on = {e.job_id: e.pid for e in executions}
    by_pid = {first.pid: first, second.pid: second}
    for job_id in random.sample(sorted(ids), 300):
        info = await cluster.producer.get_job(job_id)
        assert info is not None and info.status is jm.JobStatus.SUCCEEDED, info
        assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.SUCCEEDED], info
        assert by_pid[ran_on[job_id]].owns(info.attempts[0].worker_id), info
    print(f"[{cluster.backend}] {JOBS} jobs on 2 processes in {elapsed:.2f}s; share {dict(share)}")


async def test_list_jobs_includes_attempts(cluster: Cluster) -> None:
    """``list_jobs`` returns the same JobInfo as ``get_job``, attempts included, on every backend."""
    await cluster.workers.start_ready("full")
    receipts = await cluster.producer.scheduler.bulk_once_now(record, [{} for _ in range(3)])
    ids = {r.id for r in receipts}

    async def done() -> bool:
        return len(await cluster.history(jm.JobStatus.SUCCEEDED)) == len(ids)

    await wait_until(done, 30, "3 SUCCEEDED jobs")
    listed = {info.id: info for info in await cluster.history(jm.JobStatus.SUCCEEDED)}
    for job_id in ids:
        one = await cluster.producer.get_job(job_id)
        assert one is not None and len(one.attempts) == 1
        assert listed[job_id].attempts == one.attempts
