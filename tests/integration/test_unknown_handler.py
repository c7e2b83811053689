"""F19: a job whose handler no running worker knows stays QUEUED (never failed, never dropped)
and runs once when a worker that knows it starts."""

from __future__ import annotations

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import late, record

from .conftest import Cluster, wait_until

pytestmark = pytest.mark.slow


async def test_unregistered_handler_waits_for_a_capable_worker(cluster: Cluster) -> None:
    (limited,) = await cluster.workers.start_ready("limited")
    orphan = (await cluster.producer.scheduler.once_now(late)).id

    def ran(job_id: str) -> list[int]:
        return [e.pid for e in cluster.executions() if e.job_id == job_id]

    # Known jobs enqueued after the orphan are claimed and run: the worker has passed over the
    # (older, so first in line) orphan in several claim rounds.
    for _ in range(3):
        known = (await cluster.producer.scheduler.once_now(record)).id

        def known_ran(job_id: str = known) -> list[int]:
            return ran(job_id)

        await wait_until(known_ran, 15, f"known job {known} to run")
        await cluster.wait_status(known, jm.JobStatus.SUCCEEDED, 10)

    info = await cluster.job(orphan)
    assert info.status is jm.JobStatus.QUEUED, info
    assert info.attempt_count == 0 and info.attempts == [] and info.last_error is None, info
    assert ran(orphan) == []
    assert (await cluster.producer.list_jobs(status=jm.JobStatus.FAILED)).items == []

    (full,) = await cluster.workers.start_ready("full")
    await wait_until(
        lambda: ran(orphan), 15, lambda: "the orphan job to run\n" + cluster.workers.logs()
    )
    done = await cluster.wait_status(orphan, jm.JobStatus.SUCCEEDED, 10)
    assert ran(orphan) == [full.pid]
    assert [(a.number, a.outcome) for a in done.attempts] == [(1, jm.AttemptOutcome.SUCCEEDED)]
    assert full.owns(done.attempts[0].worker_id)
    assert limited.alive()
