"""F2: SIGTERM lets the running job finish, releases prefetched jobs at once, and exits 0."""

from __future__ import annotations

import signal
import time

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import slow

from .conftest import Cluster, wait_until

pytestmark = pytest.mark.slow

JOB_SECONDS = 1.5
JOBS = 4


async def test_sigterm_finishes_running_job_and_releases_prefetched(cluster: Cluster) -> None:
    receipts = await cluster.producer.scheduler.bulk_once_now(
        slow, [{"seconds": JOB_SECONDS} for _ in range(JOBS)]
    )
    ids = [r.id for r in receipts]
    # One job at a time, three more claimed ahead (prefetched); a long lease so that only an
    # explicit release can bring them back quickly.
    (worker,) = await cluster.workers.start_ready(
        "full",
        JM_IT_CONCURRENCY="1",
        JM_IT_BATCH=str(JOBS),
        JM_IT_PREFETCH=str(JOBS - 1),
        JM_IT_LEASE="30",
    )

    def started() -> list[str]:
        return [e.job_id for e in cluster.executions() if e.event == "start"]

    await wait_until(started, 15, "the first job to start")
    seen_at = time.monotonic()
    running_id = started()[0]
    live = {job_id: await cluster.producer.get_job(job_id) for job_id in ids}
    worker.popen.send_signal(signal.SIGTERM)
    termed_at = time.monotonic()
    assert termed_at - seen_at < JOB_SECONDS / 2, "SIGTERM was not sent while the job ran"
    prefetched = [job_id for job_id in ids if job_id != running_id]
    statuses = {job_id: info.status if info else None for job_id, info in live.items()}
    assert all(s is jm.JobStatus.PROCESSING for s in statuses.values()), (
        f"all {JOBS} jobs should be claimed (1 running, {JOBS - 1} prefetched): {statuses}"
    )

    await wait_until(lambda: not worker.alive(), 20, lambda: "the worker to exit\n" + worker.log())
    exited_after = time.monotonic() - termed_at
    assert worker.popen.returncode == 0, worker.log()[-3000:]
    print(
        f"[{cluster.backend}] worker exited {exited_after:.2f}s after SIGTERM "
        f"(job of {JOB_SECONDS}s)"
    )

    executions = cluster.executions()
    assert [(e.event, e.job_id) for e in executions] == [
        ("start", running_id),
        ("done", running_id),
    ]
    info = await cluster.job(running_id)
    assert info.status is jm.JobStatus.SUCCEEDED
    assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.SUCCEEDED]
    assert info.attempt_count == 1

    # Released at once: QUEUED again well before their 30 s lease could expire, attempt undone.
    for job_id in prefetched:
        released = await cluster.job(job_id)
        assert released.status is jm.JobStatus.QUEUED, released
        assert released.attempt_count == 0, released
    assert time.monotonic() - termed_at < 30

    # They run normally (once each, as attempt 1) on the next worker.
    await cluster.workers.start_ready("full", JM_IT_CONCURRENCY=str(JOBS))
    for job_id in prefetched:
        done = await cluster.wait_status(job_id, jm.JobStatus.SUCCEEDED, 20)
        assert [(a.number, a.outcome) for a in done.attempts] == [
            (1, jm.AttemptOutcome.SUCCEEDED)
        ], done.attempts
    runs = [e.job_id for e in cluster.executions() if e.event == "done"]
    assert sorted(runs) == sorted(ids)


async def test_released_job_shows_no_phantom_running_attempt(cluster: Cluster) -> None:
    """A prefetched job released by a graceful stop never ran: its history must not show a
    RUNNING attempt while it waits in the queue again.

    Regression test: at c5638ea the claim's RUNNING attempt, already synced to the master, was
    never withdrawn by ``release()``, so get_job showed a QUEUED job with a phantom attempt."""
    receipts = await cluster.producer.scheduler.bulk_once_now(
        slow, [{"seconds": JOB_SECONDS} for _ in range(2)]
    )
    (worker,) = await cluster.workers.start_ready(
        "full",
        JM_IT_CONCURRENCY="1",
        JM_IT_BATCH="2",
        JM_IT_PREFETCH="1",
        JM_IT_LEASE="30",
    )
    await wait_until(
        lambda: [e for e in cluster.executions() if e.event == "start"],
        15,
        "the first job to start",
    )
    running_id = next(e.job_id for e in cluster.executions() if e.event == "start")
    await cluster.producer.sync_now()  # the master learns of both claims
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(timeout=20) == 0
    (released_id,) = [r.id for r in receipts if r.id != running_id]
    info = await cluster.job(released_id)
    assert info.status is jm.JobStatus.QUEUED and info.attempt_count == 0
    assert info.attempts == [], f"a QUEUED job that never ran shows attempts {info.attempts}"
