"""History retention: finished jobs older than the retention are purged with their attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobmaster.model import JobQuery

from .conftest import Stores, new_job
from .test_master import _history


async def test_purge_deletes_old_finished_jobs_only(stores: Stores) -> None:
    if not stores.master.capabilities.purge_history:
        pytest.skip(f"the {stores.kind} master cannot purge its history yet")
    done = await _history(stores, 5)
    waiting = new_job()
    await stores.agent.enqueue([waiting])
    assert await stores.master.purge_history(timedelta(hours=1), limit=100) == 0
    assert await stores.master.purge_history(timedelta(0), limit=3) == 3
    assert await stores.master.purge_history(timedelta(0), limit=100) == 2
    for job_id in done:
        assert await stores.master.get_job(job_id) is None
        assert await stores.master.get_attempts(job_id) == []
    assert (await stores.master.list_jobs(JobQuery())).items == []
    assert await stores.agent.get_job(waiting.id) is not None  # in flight: untouched
