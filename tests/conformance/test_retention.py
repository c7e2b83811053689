"""History retention: finished jobs older than the retention are purged with their attempts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from jobmaster.model import (
    Attempt,
    AttemptOutcome,
    JobEvent,
    JobQuery,
    JobStatus,
    TriggerSource,
)

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


async def test_purge_goes_by_finish_time_not_creation_time(stores: Stores) -> None:
    """A job created long ago that finished just now (it was scheduled far ahead) stays."""
    if not stores.master.capabilities.purge_history:
        pytest.skip(f"the {stores.kind} master cannot purge its history yet")
    now = await stores.master.now()
    old, recent = uuid.uuid4(), uuid.uuid4()
    events = [
        JobEvent(0, str(job_id), 3, JobStatus.SUCCEEDED, "tests.noop", "default", 3,
                 scheduled_at=now - age, created_at=now - timedelta(days=3), msg_data="{}",
                 metadata="{}", attempt_count=1, max_retries=0, timeout_ms=30_000,
                 idempotency_key=None, schedule_id=None, trigger=TriggerSource.ONCE,
                 last_error=None, finished_at=now - age, agent="standalone",
                 attempt=Attempt(1, now - age, now - age, "w1", AttemptOutcome.SUCCEEDED))
        for job_id, age in ((old, timedelta(days=2)), (recent, timedelta(seconds=5)))
    ]
    await stores.master.apply_events(events)
    assert await stores.master.purge_history(timedelta(days=1), limit=100) == 1
    assert await stores.master.get_job(str(old)) is None
    kept = await stores.master.get_job(str(recent))
    assert kept is not None and len(kept.attempts) == 1
