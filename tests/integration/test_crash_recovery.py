"""F1: a worker process SIGKILLed mid-job; the other worker re-runs the job once after the lease
expires. F3: a worker frozen (SIGSTOP) past its lease is fenced when it wakes up."""

from __future__ import annotations

import signal
import time

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import block, record

from .conftest import Cluster, Execution, WorkerProcess, wait_until

pytestmark = pytest.mark.slow

LEASE = 2.0  # seconds
RESCUE = 0.2  # seconds
SLACK = 1.0  # faults.md F1: recovery <= lease + sweep + 1 s
WORKER_ENV = {"JM_IT_LEASE": str(LEASE), "JM_IT_RESCUE_MS": str(int(RESCUE * 1000))}


def _starts(cluster: Cluster, job_id: str) -> list[Execution]:
    found = [e for e in cluster.executions() if e.job_id == job_id and e.event == "start"]
    return sorted(found, key=lambda e: e.attempt)


async def _block_job_running(
    cluster: Cluster,
    workers: list[WorkerProcess],
) -> tuple[str, WorkerProcess, WorkerProcess]:
    """Enqueue one blocking job; return it, the process running it and the other one."""
    job_id = (await cluster.producer.scheduler.once_now(block)).id
    await wait_until(lambda: _starts(cluster, job_id), 15, f"job {job_id} to start")
    pid = _starts(cluster, job_id)[0].pid
    running = next(p for p in workers if p.pid == pid)
    other = next(p for p in workers if p.pid != pid)
    return job_id, running, other


async def test_sigkill_mid_job_reruns_once_on_the_other_worker(cluster: Cluster) -> None:
    workers = await cluster.workers.start_ready("full", count=2, **WORKER_ENV)
    job_id, victim, survivor = await _block_job_running(cluster, workers)
    live = await cluster.producer.get_job(job_id)
    assert live is not None and live.status is jm.JobStatus.PROCESSING

    victim.popen.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert victim.popen.wait(timeout=10) == -signal.SIGKILL
    cluster.release_blocked()  # the re-run may finish as soon as it starts

    bound = LEASE + RESCUE + SLACK
    await wait_until(
        lambda: len(_starts(cluster, job_id)) >= 2,
        bound + 10,
        lambda: f"job {job_id} re-run\n" + cluster.workers.logs(),
    )
    rerun_after = time.monotonic() - killed_at
    info = await cluster.wait_status(job_id, jm.JobStatus.SUCCEEDED, 10)
    succeeded_after = time.monotonic() - killed_at
    print(
        f"[{cluster.backend}] SIGKILL recovery: re-run started {rerun_after:.2f}s after the "
        f"kill, SUCCEEDED in the history {succeeded_after:.2f}s after (bound {bound:.1f}s)"
    )
    assert rerun_after <= bound, f"recovery took {rerun_after:.2f}s > {bound:.2f}s"

    starts = _starts(cluster, job_id)
    assert [(e.attempt, e.pid) for e in starts] == [(1, victim.pid), (2, survivor.pid)]
    done = [e for e in cluster.executions() if e.job_id == job_id and e.event == "done"]
    assert [(e.attempt, e.pid) for e in done] == [(2, survivor.pid)]

    assert info.attempt_count == 2
    outcomes = [(a.number, a.outcome) for a in info.attempts]
    assert outcomes == [(1, jm.AttemptOutcome.ABANDONED), (2, jm.AttemptOutcome.SUCCEEDED)]
    assert victim.owns(info.attempts[0].worker_id), info.attempts
    assert survivor.owns(info.attempts[1].worker_id), info.attempts
    assert survivor.alive()


async def test_frozen_worker_is_fenced_and_its_late_result_rejected(cluster: Cluster) -> None:
    """F3: SIGSTOP the worker running a job for 2x its lease, then SIGCONT it. The job is rescued
    and completed by the other worker; the zombie's completion changes nothing."""
    workers = await cluster.workers.start_ready("full", count=2, **WORKER_ENV)
    job_id, zombie, survivor = await _block_job_running(cluster, workers)
    zombie.popen.send_signal(signal.SIGSTOP)
    try:
        await wait_until(
            lambda: len(_starts(cluster, job_id)) >= 2,
            LEASE + RESCUE + 10,
            lambda: f"job {job_id} re-run\n" + cluster.workers.logs(),
        )
        assert _starts(cluster, job_id)[1].pid == survivor.pid
        cluster.release_blocked()  # both copies may now finish
        info = await cluster.wait_status(job_id, jm.JobStatus.SUCCEEDED, 10)
    finally:
        zombie.popen.send_signal(signal.SIGCONT)
    # The zombie wakes with its lease long gone: it must not change the job's state again.
    await wait_until(
        lambda: "lost its lease" in zombie.log() or "rejected" in zombie.log(),
        10,
        lambda: "the zombie to notice it lost its lease\n" + zombie.log()[-3000:],
    )
    await cluster.producer.sync_now()
    after = await cluster.job(job_id)
    assert after.status is jm.JobStatus.SUCCEEDED
    assert [(a.number, a.outcome) for a in after.attempts] == [
        (1, jm.AttemptOutcome.ABANDONED),
        (2, jm.AttemptOutcome.SUCCEEDED),
    ]
    assert after.attempts == info.attempts
    assert survivor.owns(after.attempts[1].worker_id)
    assert zombie.alive(), "the zombie should recover, not crash"

    # It rejoins without a restart: alone in the cluster, it runs new work.
    survivor.popen.send_signal(signal.SIGTERM)
    assert survivor.popen.wait(timeout=20) == 0
    fresh = (await cluster.producer.scheduler.once_now(record)).id
    await wait_until(
        lambda: [e for e in cluster.executions() if e.job_id == fresh],
        15,
        lambda: "the healed worker to run new work\n" + zombie.log()[-3000:],
    )
    assert [e.pid for e in cluster.executions() if e.job_id == fresh] == [zombie.pid]
    await cluster.wait_status(fresh, jm.JobStatus.SUCCEEDED, 10)
