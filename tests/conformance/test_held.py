"""Held jobs on the master (SCHEDULED until promoted): hold, claim for promotion, fencing,
cancel, reschedule, visibility. Exactly-once promotion rests on these."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.model import JobQuery, JobStatus

from .conftest import Stores, new_job

LEASE = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _needs_held_jobs(stores: Stores) -> None:
    if not stores.master.capabilities.held_jobs:
        pytest.skip(f"the {stores.kind} master cannot hold jobs yet")


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_held_job_is_visible_as_scheduled(stores: Stores) -> None:
    job = new_job(scheduled_at=later(3600), idempotency_key="held-key")
    [result] = await stores.master.hold_jobs([job])
    assert result.created and result.id == job.id
    info = await stores.master.get_job(job.id)
    assert info is not None and info.status is JobStatus.SCHEDULED
    assert abs((info.scheduled_at - job.scheduled_at).total_seconds()) < 0.01  # type: ignore[operator]
    page = await stores.master.list_jobs(JobQuery(status=JobStatus.SCHEDULED))
    assert [j.id for j in page.items] == [job.id]
    assert [j.id for j in (await stores.master.list_jobs(JobQuery())).items] == [job.id]
    assert (await stores.master.list_jobs(JobQuery(status=JobStatus.SUCCEEDED))).items == []
    assert await stores.master.find_idempotent("held-key") == job.id
    [again] = await stores.master.hold_jobs([new_job(scheduled_at=later(60),
                                                     idempotency_key="held-key")])
    assert not again.created and again.id == job.id


async def test_claim_takes_only_due_jobs_once(stores: Stores) -> None:
    soon = [new_job(scheduled_at=later(-1)) for _ in range(30)]
    far = new_job(scheduled_at=later(3600))
    await stores.master.hold_jobs([*soon, far])
    batches = await asyncio.gather(*[
        stores.master.claim_held(f"p{i}", due_within=timedelta(seconds=5), limit=10, lease=LEASE)
        for i in range(5)])
    taken = [held.job.id for batch in batches for held in batch]
    assert sorted(taken) == sorted(j.id for j in soon)
    assert all(not held.retaken for batch in batches for held in batch)
    assert await stores.master.claim_held("p9", due_within=timedelta(seconds=5), limit=10,
                                          lease=LEASE) == []
    [promoted] = await stores.master.claim_held("p9", due_within=timedelta(hours=2), limit=10,
                                                lease=LEASE)
    assert promoted.job.id == far.id


async def test_promotion_is_fenced_by_token(stores: Stores) -> None:
    job = new_job(scheduled_at=later(-1))
    await stores.master.hold_jobs([job])
    [held] = await stores.master.claim_held("p1", due_within=timedelta(0), limit=5,
                                            lease=timedelta(milliseconds=300))
    await asyncio.sleep(0.4)
    [retaken] = await stores.master.claim_held("p2", due_within=timedelta(0), limit=5,
                                               lease=LEASE)
    assert retaken.retaken and retaken.token != held.token
    assert await stores.master.finish_held({job.id: held.token}) == 0  # stale promoter
    assert await stores.master.release_held({job.id: held.token}) == 0
    assert await stores.master.finish_held({job.id: retaken.token}) == 1
    assert await stores.master.get_job(job.id) is None


async def test_release_makes_a_job_takeable_again(stores: Stores) -> None:
    job = new_job(scheduled_at=later(-1))
    await stores.master.hold_jobs([job])
    [held] = await stores.master.claim_held("p1", due_within=timedelta(0), limit=5, lease=LEASE)
    assert await stores.master.release_held({job.id: held.token}) == 1
    [again] = await stores.master.claim_held("p2", due_within=timedelta(0), limit=5, lease=LEASE)
    assert again.job.id == job.id


async def test_cancel_and_reschedule_held(stores: Stores) -> None:
    job, busy = new_job(scheduled_at=later(600)), new_job(scheduled_at=later(-1))
    await stores.master.hold_jobs([job, busy])
    new_time = later(7200)
    assert await stores.master.reschedule_held(job.id, new_time)
    info = await stores.master.get_job(job.id)
    assert info is not None and abs((info.scheduled_at - new_time).total_seconds()) < 0.01
    assert await stores.master.cancel_held(job.id)
    info = await stores.master.get_job(job.id)
    assert info is not None and info.status is JobStatus.CANCELLED
    assert not await stores.master.cancel_held(job.id)
    await stores.master.claim_held("p1", due_within=timedelta(0), limit=5, lease=LEASE)
    assert not await stores.master.cancel_held(busy.id)  # being promoted right now
    assert not await stores.master.reschedule_held(busy.id, new_time)
