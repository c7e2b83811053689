"""A job is visible through ``get_job`` at every moment of its life, from any process, without
waiting for (or forcing) a sync: "never lost" includes "never missing from the API"."""

from __future__ import annotations

import pytest

import jobmaster as jm
from tests.integration.apps.handlers import record

from .conftest import Cluster, wait_until

pytestmark = pytest.mark.slow


async def test_finished_job_is_visible_before_the_next_sync(cluster: Cluster) -> None:
    # Workers sync their outbox every 3 s: the window is wide enough to look into reliably.
    await cluster.workers.start_ready("full", JM_IT_SYNC_MS="3000")
    job_id = (await cluster.producer.scheduler.once_now(record)).id
    seen: list[jm.JobStatus | None] = []

    async def finished_or_missing() -> bool:
        info = await cluster.producer.get_job(job_id)  # no sync_now(): what a user sees
        status = info.status if info is not None else None
        if not seen or seen[-1] != status:
            seen.append(status)
        return status is None or status is jm.JobStatus.SUCCEEDED

    await wait_until(finished_or_missing, 15, lambda: f"job {job_id} to finish; seen {seen}")
    assert None not in seen, f"get_job returned None for an existing job; statuses seen: {seen}"
