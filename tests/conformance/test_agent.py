"""AgentTransport conformance: enqueue, claim, leases, completion, fencing, cancel, rescue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from jobmaster.model import (
    AttemptOutcome,
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    JobStatus,
    LeaseRef,
)
from jobmaster.runtime.syncer import Syncer

from .conftest import Stores, new_job

DEFS = ["tests.noop", "tests.other"]
LEASE = timedelta(seconds=30)


async def claim(
    stores: Stores,
    limit: int = 10,
    *,
    worker: str = "w1",
    lanes: list[str] | None = None,
    lease: timedelta = LEASE,
    definitions: list[str] = DEFS,
) -> list[ClaimedJob]:
    return await stores.agent.claim(
        worker, lanes=lanes, definitions=definitions, limit=limit, lease=lease
    )


def result(
    job: ClaimedJob,
    outcome: AttemptOutcome = AttemptOutcome.SUCCEEDED,
    *,
    retry: timedelta | None = None,
    error: str | None = None,
    worker: str = "w1",
) -> AttemptResult:
    now = datetime.now(UTC)
    return AttemptResult(
        job.id,
        job.lease_token,
        outcome,
        worker,
        now,
        now,
        error=error,
        traceback="tb" if error else None,
        retry_delay=retry,
    )


async def test_enqueue_single_and_claim(stores: Stores) -> None:
    job = new_job(msg_data={"UserId": "u1"})
    [res] = await stores.agent.enqueue([job])
    assert res.id == job.id and res.created
    [claimed] = await claim(stores)
    assert claimed.id == job.id
    assert claimed.attempt == 1
    assert claimed.msg_data == job.msg_data
    assert claimed.lease_token
    assert claimed.lease_expires_at > datetime.now(UTC) + timedelta(seconds=20)
    assert await claim(stores) == []


async def test_bulk_enqueue_and_batch_claim(stores: Stores) -> None:
    jobs = [new_job() for _ in range(250)]
    results = await stores.agent.enqueue(jobs)
    assert [r.id for r in results] == [j.id for j in jobs]
    assert all(r.created for r in results)
    first = await claim(stores, 100)
    second = await claim(stores, 100, worker="w2")
    third = await claim(stores, 100, worker="w3")
    assert (len(first), len(second), len(third)) == (100, 100, 50)
    ids = {j.id for j in first + second + third}
    assert ids == {j.id for j in jobs}
    assert (await stores.agent.queue_depth()).get("default", 0) == 0


async def test_concurrent_claimers_never_share_a_job(stores: Stores) -> None:
    await stores.agent.enqueue([new_job() for _ in range(300)])
    other = stores.second_agent()
    await other.open()
    try:
        batches = await asyncio.gather(
            *[
                (stores.agent if i % 2 else other).claim(
                    f"w{i}", lanes=None, definitions=DEFS, limit=40, lease=LEASE
                )
                for i in range(10)
            ]
        )
    finally:
        await other.close()
    ids = [job.id for batch in batches for job in batch]
    assert len(ids) == len(set(ids)) == 300


async def test_priority_then_oldest_first(stores: Stores) -> None:
    base = datetime.now(UTC) - timedelta(minutes=10)
    low_old = new_job(priority=1, scheduled_at=base)
    high_new = new_job(priority=5, scheduled_at=base + timedelta(minutes=2))
    high_old = new_job(priority=5, scheduled_at=base + timedelta(minutes=1))
    medium = new_job(priority=3, scheduled_at=base)
    await stores.agent.enqueue([low_old, high_new, high_old, medium])
    claimed = await claim(stores, 10)
    assert [j.id for j in claimed] == [high_old.id, high_new.id, medium.id, low_old.id]


async def test_claims_during_a_deep_drain_keep_priority_and_pass_over_nothing(
    stores: Stores,
) -> None:
    """A deep queue drained batch by batch (a backend may read on from where the last claim
    stopped): a more urgent job enqueued meanwhile comes first in the next claim, and a job due
    before the ones being drained is still claimed before the queue is empty."""
    await stores.agent.enqueue([new_job() for _ in range(250)])
    first = await claim(stores, 100)
    urgent = new_job(priority=5)
    overdue = new_job(scheduled_at=datetime.now(UTC) - timedelta(hours=1))
    await stores.agent.enqueue([urgent, overdue])
    second = await claim(stores, 100)
    assert second[0].id == urgent.id
    rest: list[ClaimedJob] = []
    while batch := await claim(stores, 100):
        rest += batch
    ids = [j.id for j in first + second + rest]
    assert overdue.id in ids and len(ids) == len(set(ids)) == 252


async def test_lanes_filter_claims(stores: Stores) -> None:
    email = new_job(lane="emails")
    report = new_job(lane="reports")
    default = new_job()
    await stores.agent.enqueue([email, report, default])
    assert [j.id for j in await claim(stores, lanes=["emails"])] == [email.id]
    assert [j.id for j in await claim(stores, lanes=["default"])] == [default.id]
    assert [j.id for j in await claim(stores, lanes=None)] == [report.id]


async def test_unknown_definition_stays_queued(stores: Stores) -> None:
    job = new_job("tests.unknown-to-this-worker")
    await stores.agent.enqueue([job])
    assert await claim(stores) == []
    info = await stores.agent.get_job(job.id)
    assert info is not None and info.status is JobStatus.QUEUED
    [claimed] = await claim(stores, definitions=["tests.unknown-to-this-worker"])
    assert claimed.id == job.id


async def test_delayed_job_is_not_claimed_before_due(stores: Stores) -> None:
    later = new_job(scheduled_at=datetime.now(UTC) + timedelta(seconds=1))
    await stores.agent.enqueue([later])
    assert await claim(stores) == []
    await asyncio.sleep(1.1)
    assert [j.id for j in await claim(stores)] == [later.id]


async def test_complete_removes_job_and_records_history(stores: Stores) -> None:
    job = new_job()
    await stores.agent.enqueue([job])
    [claimed] = await claim(stores)
    accepted = await stores.agent.finish([result(claimed)])
    assert accepted == {job.id}
    # Finished but not yet synced: the agent still answers from its outbox.
    pending = await stores.agent.get_job(job.id)
    assert pending is not None and pending.status is JobStatus.SUCCEEDED
    assert [a.outcome for a in pending.attempts] == [AttemptOutcome.SUCCEEDED]
    await stores.sync()
    assert await stores.agent.get_job(job.id) is None
    info = await stores.master.get_job(job.id)
    assert info is not None
    assert info.status is JobStatus.SUCCEEDED
    assert [a.outcome for a in info.attempts] == [AttemptOutcome.SUCCEEDED]
    assert info.attempts[0].worker_id == "w1"
    assert info.finished_at is not None


async def test_retry_with_backoff_then_final_failure(stores: Stores) -> None:
    job = new_job(max_retries=1)
    await stores.agent.enqueue([job])
    [first] = await claim(stores)
    await stores.agent.finish(
        [result(first, AttemptOutcome.FAILED, error="boom 1", retry=timedelta(seconds=1))]
    )
    info = await stores.agent.get_job(job.id)
    assert info is not None and info.status is JobStatus.QUEUED
    assert info.scheduled_at > datetime.now(UTC) + timedelta(milliseconds=500)
    assert info.last_error == "boom 1"
    assert await claim(stores) == []  # backoff not elapsed
    await asyncio.sleep(1.1)
    [second] = await claim(stores)
    assert second.attempt == 2
    await stores.agent.finish([result(second, AttemptOutcome.FAILED, error="boom 2")])
    await stores.sync()
    final = await stores.master.get_job(job.id)
    assert final is not None and final.status is JobStatus.FAILED
    assert final.last_error == "boom 2"
    assert [(a.number, a.outcome, a.error) for a in final.attempts] == [
        (1, AttemptOutcome.FAILED, "boom 1"),
        (2, AttemptOutcome.FAILED, "boom 2"),
    ]
    assert final.attempts[1].traceback == "tb"


async def test_extend_leases_and_fencing_of_late_completion(stores: Stores) -> None:
    await stores.agent.enqueue([new_job()])
    [job] = await claim(stores, lease=timedelta(seconds=1))
    ext = await stores.agent.extend_leases(
        "w1", [LeaseRef(job.id, job.lease_token)], timedelta(seconds=1)
    )
    assert ext.held == {job.id}
    await asyncio.sleep(1.2)
    rescued = await stores.agent.rescue_expired(limit=100, max_attempts_reason="lost")
    assert rescued.requeued == 1
    [again] = await claim(stores, worker="w2")
    assert again.id == job.id and again.attempt == 2
    assert again.lease_token != job.lease_token
    # The zombie wakes up: its heartbeat and completion are rejected.
    stale = await stores.agent.extend_leases("w1", [LeaseRef(job.id, job.lease_token)], LEASE)
    assert stale.held == frozenset()
    assert await stores.agent.finish([result(job)]) == set()
    assert await stores.agent.finish([result(again, worker="w2")]) == {job.id}
    await stores.sync()
    info = await stores.master.get_job(job.id)
    assert info is not None and info.status is JobStatus.SUCCEEDED
    assert [(a.number, a.outcome) for a in info.attempts] == [
        (1, AttemptOutcome.ABANDONED),
        (2, AttemptOutcome.SUCCEEDED),
    ]
    assert info.attempts[1].worker_id == "w2"


async def test_rescue_fails_job_without_attempts_left(stores: Stores) -> None:
    job = new_job(max_retries=0)
    await stores.agent.enqueue([job])
    await claim(stores, lease=timedelta(milliseconds=300))
    await asyncio.sleep(0.5)
    rescued = await stores.agent.rescue_expired(limit=100, max_attempts_reason="worker_lost")
    assert rescued.failed == 1 and rescued.requeued == 0
    await stores.sync()
    info = await stores.master.get_job(job.id)
    assert info is not None and info.status is JobStatus.FAILED
    assert info.last_error == "worker_lost"


async def test_rescue_ignores_live_leases(stores: Stores) -> None:
    await stores.agent.enqueue([new_job()])
    await claim(stores)
    assert (
        await stores.agent.rescue_expired(limit=100, max_attempts_reason="x")
        == type(await stores.agent.rescue_expired(limit=100, max_attempts_reason="x"))()
    )


async def test_release_restores_attempt(stores: Stores) -> None:
    job = new_job()
    await stores.agent.enqueue([job])
    [claimed] = await claim(stores)
    assert await stores.agent.release([LeaseRef(job.id, "wrong-token")]) == 0
    assert await stores.agent.release([LeaseRef(job.id, claimed.lease_token)]) == 1
    [again] = await claim(stores)
    assert again.attempt == 1


async def test_cancel_queued_and_running(stores: Stores) -> None:
    queued, running = new_job(), new_job(priority=5)
    await stores.agent.enqueue([queued, running])
    [claimed] = await claim(stores, 1)
    assert claimed.id == running.id
    assert await stores.agent.cancel(queued.id) is CancelOutcome.CANCELLED
    assert await stores.agent.cancel(queued.id) is CancelOutcome.NOT_FOUND
    assert await stores.agent.cancel(running.id) is CancelOutcome.REQUESTED
    ext = await stores.agent.extend_leases("w1", [LeaseRef(claimed.id, claimed.lease_token)], LEASE)
    assert ext.cancel_requested == {running.id}
    assert await claim(stores) == []
    await stores.agent.finish([result(claimed, AttemptOutcome.CANCELLED)])
    await stores.sync()
    for job_id in (queued.id, running.id):
        info = await stores.master.get_job(job_id)
        assert info is not None and info.status is JobStatus.CANCELLED


async def test_reschedule_and_retry_now(stores: Stores) -> None:
    job = new_job()
    await stores.agent.enqueue([job])
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await stores.agent.reschedule(job.id, later)
    assert await claim(stores) == []
    info = await stores.agent.get_job(job.id)
    assert info is not None and abs((info.scheduled_at - later).total_seconds()) < 0.01
    assert await stores.agent.retry_now(job.id)
    [claimed] = await claim(stores)
    assert not await stores.agent.reschedule(claimed.id, later)  # running: not movable
    assert not await stores.agent.reschedule("00000000-0000-0000-0000-000000000000", later)


async def test_idempotency_key_returns_first_job(stores: Stores) -> None:
    first = new_job(idempotency_key="order-42")
    second = new_job(idempotency_key="order-42")
    [r1] = await stores.agent.enqueue([first])
    [r2] = await stores.agent.enqueue([second])
    assert r1.created and not r2.created and r2.id == first.id
    [claimed] = await claim(stores)
    await stores.agent.finish([result(claimed)])
    # Finished but not yet synced: the outbox still knows the key.
    [r3] = await stores.agent.enqueue([new_job(idempotency_key="order-42")])
    assert not r3.created and r3.id == first.id
    await stores.sync()
    assert await stores.master.find_idempotent("order-42") == first.id


async def test_idempotency_under_concurrency(stores: Stores) -> None:
    results = await asyncio.gather(
        *[stores.agent.enqueue([new_job(idempotency_key="same")]) for _ in range(50)]
    )
    ids = {r[0].id for r in results}
    assert len(ids) == 1
    assert sum(r[0].created for r in results) == 1


async def test_outbox_sync_is_idempotent(stores: Stores) -> None:
    jobs = [new_job() for _ in range(20)]
    await stores.agent.enqueue(jobs)
    claimed = await claim(stores, 20)
    await stores.agent.finish([result(j) for j in claimed[:10]])
    events = await stores.agent.read_outbox(1000)
    assert events and [e.seq for e in events] == sorted(e.seq for e in events)
    await stores.master.apply_events(events)
    await stores.master.apply_events(events)  # replay
    await stores.master.apply_events(list(reversed(events)))  # out of order
    for job in claimed[:10]:
        info = await stores.master.get_job(job.id)
        assert info is not None and info.status is JobStatus.SUCCEEDED
        assert len(info.attempts) == 1
    for job in claimed[10:]:  # still in flight: only the agent knows them
        assert await stores.master.get_job(job.id) is None
        live = await stores.agent.get_job(job.id)
        assert live is not None and live.status is JobStatus.PROCESSING
    await stores.agent.trim_outbox([e.seq for e in events])
    assert await stores.agent.read_outbox(10) == []


async def test_outbox_export_import_is_idempotent(stores: Stores) -> None:
    """The syncer's fast path (an agent's own export format, taken as it is by the master):
    same history as apply_events, replays change nothing, the batch's sequence numbers and
    oldest time come back for the trim and the sync lag."""
    if stores.agent.outbox_export_format not in stores.master.outbox_import_formats:
        pytest.skip(f"{stores.kind}: no outbox export format shared with the master")
    jobs = [new_job() for _ in range(20)]
    await stores.agent.enqueue(jobs)
    claimed = await claim(stores, 20)
    await stores.agent.finish([result(j) for j in claimed[:8]])
    await stores.agent.finish([result(j, outcome=AttemptOutcome.FAILED, error="boom",
                                      retry=timedelta(hours=1)) for j in claimed[8:12]])
    events = await stores.agent.read_outbox(1000)
    fmt = stores.agent.outbox_export_format
    data = await stores.agent.export_outbox(1000)
    assert fmt is not None and data is not None
    first = await stores.master.import_outbox(fmt, data, stores.agent.agent_name)
    assert first.seqs == [e.seq for e in events]
    assert first.oldest is not None
    assert abs((first.oldest - datetime.now(UTC)).total_seconds()) < 60
    again = await stores.master.import_outbox(fmt, data, stores.agent.agent_name)  # replay
    assert again.seqs == first.seqs
    for job in claimed[:8]:
        info = await stores.master.get_job(job.id)
        assert info is not None and info.status is JobStatus.SUCCEEDED
        assert [a.outcome for a in info.attempts] == [AttemptOutcome.SUCCEEDED]
        assert info.agent == stores.agent.agent_name
    for job in claimed[8:12]:  # queued again for a retry: the attempt is recorded, not the job
        assert await stores.master.get_job(job.id) is None
        attempts = await stores.master.get_attempts(job.id)
        assert [(a.outcome, a.error) for a in attempts] == [(AttemptOutcome.FAILED, "boom")]
    await stores.agent.trim_outbox(first.seqs)
    rest = await stores.agent.export_outbox(10)
    assert rest is not None
    empty = await stores.master.import_outbox(fmt, rest, stores.agent.agent_name)
    assert empty.seqs == [] and empty.oldest is None


async def test_live_view_of_running_job(stores: Stores) -> None:
    job = new_job()
    await stores.agent.enqueue([job])
    [claimed] = await claim(stores)
    info = await stores.agent.get_job(job.id)
    assert info is not None
    assert info.status is JobStatus.PROCESSING
    assert info.attempts[-1].outcome is AttemptOutcome.RUNNING
    assert info.attempts[-1].worker_id == "w1"
    assert claimed.lease_token


async def test_queue_depth_by_lane(stores: Stores) -> None:
    await stores.agent.enqueue([new_job(lane="a"), new_job(lane="a"), new_job(lane="b")])
    assert await stores.agent.queue_depth() == {"a": 2, "b": 1}


async def test_backend_clock_is_aware_utc(stores: Stores) -> None:
    now = await stores.agent.now()
    assert now.tzinfo is not None
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


async def test_colocated_sync_matches_generic_sync(stores: Stores) -> None:
    agent = stores.colocated_agent()
    await agent.open()
    try:
        jobs = [new_job() for _ in range(30)]
        await agent.enqueue(jobs)
        claimed = await agent.claim("w1", lanes=None, definitions=DEFS, limit=30, lease=LEASE)
        await agent.finish([result(j) for j in claimed[:20]])
        # A failure with its error, and a retried job that then succeeds (its first attempt
        # goes through the outbox, its last perhaps not).
        failed, retried = claimed[20], claimed[21]
        await agent.finish([result(failed, AttemptOutcome.FAILED, error="boom"),
                            result(retried, AttemptOutcome.FAILED, error="flaky",
                                   retry=timedelta(0))])
        again: list[ClaimedJob] = []
        for _ in range(50):  # a broker may redeliver a moment later
            if again := await agent.claim("w1", lanes=None, definitions=DEFS, limit=1,
                                          lease=LEASE):
                break
        assert [(j.id, j.attempt) for j in again] == [(retried.id, 2)]
        await agent.finish([result(again[0])])
        await Syncer(stores.master, [agent], interval=1, batch_size=7).drain()
        assert await agent.read_outbox(10) == []
        for job in claimed[:20]:
            info = await stores.master.get_job(job.id)
            assert info is not None and info.status is JobStatus.SUCCEEDED
            assert [a.outcome for a in info.attempts] == [AttemptOutcome.SUCCEEDED]
            assert info.agent == "standalone" and info.finished_at is not None
        info = await stores.master.get_job(failed.id)
        assert info is not None and info.status is JobStatus.FAILED
        assert info.last_error == "boom"
        assert [(a.error, a.traceback) for a in info.attempts] == [("boom", "tb")]
        info = await stores.master.get_job(retried.id)
        assert info is not None and info.status is JobStatus.SUCCEEDED
        assert info.attempt_count == 2
        assert [a.outcome for a in info.attempts] == [AttemptOutcome.FAILED,
                                                     AttemptOutcome.SUCCEEDED]
        for job in claimed[22:]:
            assert await stores.master.get_job(job.id) is None
    finally:
        await agent.close()
