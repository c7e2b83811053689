"""F16: a handler that kills its worker process every time. Each crash counts as an attempt; after
the last one the job is FAILED with reason ``worker_lost``; other jobs keep flowing while a
small supervisor (this test) restarts the crashed workers."""

from __future__ import annotations

import collections
import time

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import crash, record

from .conftest import Cluster, WorkerProcess, wait_until

pytestmark = pytest.mark.slow

LEASE = "2"
OTHER_JOBS = 200


async def test_poison_job_fails_with_worker_lost_after_max_attempts(cluster: Cluster) -> None:
    env = {"JM_IT_LEASE": LEASE, "JM_IT_RESCUE_MS": "200"}
    slots: list[WorkerProcess] = await cluster.workers.start_ready("full", count=2, **env)
    crashes: list[int] = []

    def supervise() -> None:
        """Restart every worker process that died (like systemd or Kubernetes would)."""
        for index, process in enumerate(slots):
            if not process.alive():
                crashes.append(process.popen.returncode)
                slots[index] = cluster.workers.start("full", **env)

    poison = (await cluster.producer.scheduler.once_now(crash, max_retries=1)).id
    began = time.monotonic()

    def crashed() -> bool:
        supervise()
        return bool(crashes)

    await wait_until(crashed, 15, lambda: "the first crash\n" + cluster.workers.logs())
    # Other work arrives while the crash loop goes on.
    others = {
        r.id
        for r in await cluster.producer.scheduler.bulk_once_now(
            record, [{} for _ in range(OTHER_JOBS)]
        )
    }
    last: list[jm.JobInfo] = []

    async def poison_failed() -> bool:
        supervise()
        info = await cluster.job(poison)
        last[:] = [info]
        return info.status is jm.JobStatus.FAILED

    await wait_until(
        poison_failed,
        40,
        lambda: (
            f"the poison job to fail; it is {last[0].status} "
            f"after {len(crashes)} crashes\n" + cluster.workers.logs()
        ),
    )
    print(
        f"[{cluster.backend}] poison job FAILED after {time.monotonic() - began:.2f}s and "
        f"{len(crashes)} worker crashes"
    )
    info = last[0]
    assert info.attempt_count == 2
    assert info.last_error is not None and info.last_error.startswith("worker_lost"), info
    assert [(a.number, a.outcome) for a in info.attempts] == [
        (1, jm.AttemptOutcome.ABANDONED),
        (2, jm.AttemptOutcome.ABANDONED),
    ]
    assert info.attempts[1].error is not None and info.attempts[1].error.startswith("worker_lost")

    starts = [e for e in cluster.executions() if e.job_id == poison]
    assert sorted(e.attempt for e in starts) == [1, 2], "the poison job ran more than N times"
    assert crashes == [137, 137]

    # Every other job still succeeds (jobs in flight in a crashed process ran again: at least
    # once, and at most once more per crash).
    def others_done() -> bool:
        supervise()
        return {e.job_id for e in cluster.executions() if e.event == "run"} >= others

    await wait_until(others_done, 30, "the other jobs to run")

    async def others_succeeded() -> bool:
        return others <= {j.id for j in await cluster.history(jm.JobStatus.SUCCEEDED)}

    await wait_until(others_succeeded, 15, "the other jobs to be SUCCEEDED in the history")
    counts = collections.Counter(e.job_id for e in cluster.executions() if e.event == "run")
    assert all(counts[job_id] <= 3 for job_id in others)
    # The poison job can never come back: it left the queue for good.
    supervise()
    assert sorted(e.attempt for e in cluster.executions() if e.job_id == poison) == [1, 2]
