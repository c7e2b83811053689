"""Worker semantics on the memory backend, driven by run_once (no sleeping to synchronize)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobmaster as jm
from jobmaster import testing
from jobmaster.config import WorkerConfig
from jobmaster.model import NewJob
from jobmaster.runtime.worker import Worker

recorder = testing.JobRecorder()


@jm.job_handler(max_retries=2, backoff=jm.Backoff(initial=timedelta(seconds=10)))
async def always_fails(job: jm.JobContext) -> None:
    recorder.record(job)
    raise ValueError(f"bad input on attempt {job.attempt}")


@jm.job_handler(max_retries=1, timeout=0.05)
async def slow_async(job: jm.JobContext) -> None:
    recorder.record(job)
    await asyncio.sleep(30)


sync_gate = threading.Event()


@jm.job_handler(max_retries=0, timeout=0.05)
def slow_sync(job: jm.JobContext) -> None:
    recorder.record(job)
    sync_gate.wait(5)


@jm.job_handler(max_retries=3)
async def gives_up(job: jm.JobContext) -> None:
    recorder.record(job)
    raise jm.JobCancelledError("the order was withdrawn")


@jm.job_handler
async def works(job: jm.JobContext) -> None:
    recorder.record(job)


HANDLERS = [always_fails, slow_async, slow_sync, gives_up, works]


@pytest.fixture
async def app() -> AsyncIterator[testing.EagerJobMaster]:
    recorder.clear()
    async with testing.manual(handlers=HANDLERS) as app:
        yield app


async def test_retries_with_backoff_then_failed(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(always_fails, {"user": "u1"})
    assert await testing.drain(app, skip_backoff=False) == 1
    waiting = await app.get_job(job.id)
    assert waiting is not None and waiting.status is jm.JobStatus.QUEUED
    assert waiting.attempt_count == 1 and waiting.last_error == "ValueError: bad input on attempt 1"
    finished = waiting.attempts[0].finished_at
    assert finished is not None
    assert 8 <= (waiting.scheduled_at - finished).total_seconds() <= 12  # 10 s +/- 20 % jitter
    assert await testing.drain(app, skip_backoff=False) == 0  # not before the backoff delay

    assert await testing.drain(app) == 2  # the test kit skips the remaining delays
    info = await testing.assert_job_failed(app, job.id, error_contains="attempt 3")
    assert info.attempt_count == 3 and info.max_retries == 2
    assert [a.number for a in info.attempts] == [1, 2, 3]
    worker_id = app.workers[0].worker_id
    for number, attempt in enumerate(info.attempts, start=1):
        assert attempt.outcome is jm.AttemptOutcome.FAILED
        assert attempt.worker_id == worker_id
        assert attempt.error == f"ValueError: bad input on attempt {number}"
        assert attempt.traceback is not None
        assert "Traceback (most recent call last)" in attempt.traceback
        assert f"ValueError: bad input on attempt {number}" in attempt.traceback
        assert attempt.finished_at is not None and attempt.started_at <= attempt.finished_at
    assert info.attempts[0].finished_at <= info.attempts[1].started_at  # type: ignore[operator]
    assert [c.attempt for c in recorder.for_job(job)] == [1, 2, 3]
    assert recorder.for_job(job)[-1].is_last_attempt
    assert app.workers[0].stats.retried == 2 and app.workers[0].stats.failed == 1


async def test_success_records_one_attempt(app: testing.EagerJobMaster) -> None:
    before = datetime.now(UTC)
    job = await app.scheduler.once_now(works)
    await testing.drain(app)
    info = await testing.assert_job_succeeded(app, job)
    [attempt] = info.attempts
    assert attempt.number == 1 and attempt.outcome is jm.AttemptOutcome.SUCCEEDED
    assert attempt.error is None and attempt.worker_id == app.workers[0].worker_id
    assert attempt.finished_at is not None and before <= attempt.started_at <= attempt.finished_at
    assert info.finished_at is not None and info.last_error is None


async def test_async_timeout(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(slow_async)
    await testing.drain(app)
    info = await testing.assert_job_failed(app, job, error_contains="timed out after 0.05s")
    assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.TIMED_OUT] * 2


async def test_sync_timeout_abandons_the_thread(app: testing.EagerJobMaster) -> None:
    sync_gate.clear()
    try:
        job = await app.scheduler.once_now(slow_sync)
        await testing.drain(app)
        info = await testing.assert_job_failed(app, job, error_contains="timed out")
        assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.TIMED_OUT]
        [context] = recorder.for_job(job)
        assert context.is_cancelled  # the abandoned thread is told to stop
    finally:
        sync_gate.set()


async def test_job_cancelled_error_ends_as_cancelled(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(gives_up)
    await testing.drain(app)
    info = await testing.assert_job_cancelled(app, job)
    [attempt] = info.attempts  # not retried
    assert attempt.outcome is jm.AttemptOutcome.CANCELLED
    assert attempt.error == "the order was withdrawn"


async def test_priorities_highest_first_then_oldest() -> None:
    recorder.clear()
    config = testing.memory_config(batch_size=1)
    async with testing.manual(handlers=[works], config=config) as app:
        order = [
            jm.Priority.LOW,
            jm.Priority.CRITICAL,
            jm.Priority.MEDIUM,
            jm.Priority.VERY_LOW,
            jm.Priority.HIGH,
            jm.Priority.MEDIUM,
        ]
        jobs = [
            await app.scheduler.once_now(works, {"i": i}, priority=p) for i, p in enumerate(order)
        ]
        assert await testing.drain(app) == len(order)
    testing.reset_memory_space(config.master.target)  # type: ignore[union-attr]
    ran = [call.msg_data.get_int("i") for call in recorder.calls]
    assert ran == [1, 4, 2, 5, 0, 3]
    assert {call.id for call in recorder.calls} == {job.id for job in jobs}


async def test_lanes_are_respected() -> None:
    recorder.clear()
    name = f"lanes-{uuid.uuid4().hex}"
    config = jm.ClusterConfig.standalone("lanes").use_memory(name).add_worker(lanes=["emails"])
    try:
        async with testing.manual(handlers=[works], config=config) as app:
            plain = await app.scheduler.once_now(works)
            email = await app.scheduler.once_now(works, lane="emails")
            other = await app.scheduler.once_now(works, lane="reports")
            assert await testing.drain(app, run_delayed=True) == 1
            await testing.assert_job_succeeded(app, email)
            for job in (plain, other):
                await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
            assert recorder.job_ids == [email.id]
    finally:
        testing.reset_memory_space(name)


async def test_all_lanes_worker_runs_every_lane(app: testing.EagerJobMaster) -> None:
    for lane in ("default", "emails", "reports"):
        await app.scheduler.once_now(works, lane=lane)
    assert await testing.drain(app) == 3


async def test_unknown_handler_is_never_claimed_and_stays_queued() -> None:
    name = f"unknown-{uuid.uuid4().hex}"
    producer = jm.JobMaster(testing.memory_config(space=name), handlers=[works, always_fails])
    try:
        await producer.start(run_workers=False)
        job = await producer.scheduler.once_now(always_fails, {"x": 1})
        delayed = await producer.scheduler.once_after(always_fails, 60)
        async with testing.manual(
            handlers=[works], config=testing.memory_config(space=name)
        ) as app:
            assert await testing.drain(app, run_delayed=True) == 0
            info = await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
            assert info.attempt_count == 0 and info.attempts == []
            later = await app.get_job(delayed.id)
            assert later is not None and later.scheduled_at == delayed.scheduled_at  # untouched
        # kept, and runnable once a worker knows the handler
        async with testing.manual(
            handlers=[always_fails], config=testing.memory_config(space=name)
        ) as app:
            assert await testing.drain(app) == 3
            await testing.assert_job_failed(app, job, error_contains="bad input")
    finally:
        await producer.stop()
        testing.reset_memory_space(name)


async def enqueue_undecodable(app: jm.JobMaster) -> str:
    job_id = str(uuid.uuid4())
    await app.agents["standalone"].enqueue(
        [
            NewJob(
                id=job_id,
                definition_id=f"{__name__}.works",
                lane="default",
                priority=3,
                scheduled_at=None,
                msg_data='{"broken": ',
                metadata="{}",
                max_retries=3,
                timeout_ms=1000,
                backoff=json.dumps(jm.Backoff().to_json()),
            )
        ]
    )
    return job_id


async def test_undecodable_payload_fails_without_retry(app: testing.EagerJobMaster) -> None:
    job_id = await enqueue_undecodable(app)
    assert await testing.drain(app) == 1
    info = await app.get_job(job_id)
    assert info is not None and info.status is jm.JobStatus.FAILED
    assert info.last_error is not None
    assert info.last_error.startswith("decode_error: MessageData payload is not valid")
    assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.FAILED]
    assert app.workers[0].stats.failed == 1 and app.workers[0].stats.retried == 0
    assert recorder.calls == []


async def test_undecodable_payload_job_can_still_be_read(app: testing.EagerJobMaster) -> None:
    job_id = await enqueue_undecodable(app)
    await testing.drain(app)
    page = await app.list_jobs()
    assert [job.id for job in page.items] == [job_id]
    await testing.assert_job_failed(app, job_id, error_contains="decode_error")


def claim_worker(app: jm.JobMaster, **options: object) -> Worker:
    return Worker(
        worker_id=f"w-{uuid.uuid4().hex[:6]}",
        cluster_id=app.config.cluster_id,
        config=WorkerConfig(**options),  # type: ignore[arg-type]
        transport=app.agents["standalone"],
        registry=app.registry,
    )


async def test_graceful_stop_releases_prefetched_jobs() -> None:
    started, gate = asyncio.Event(), asyncio.Event()

    @jm.job_handler
    async def blocking(job: jm.JobContext) -> None:
        started.set()
        await gate.wait()

    async with testing.manual(handlers=[blocking]) as app:
        first = await app.scheduler.once_now(blocking, priority=jm.Priority.HIGH)
        second = await app.scheduler.once_now(blocking, priority=jm.Priority.LOW)
        worker = claim_worker(app, concurrency=1, batch_size=5, lanes=("*",))
        await worker.start()
        await asyncio.wait_for(started.wait(), 5)
        assert worker.in_flight == 2  # one running, one prefetched
        stopping = asyncio.create_task(worker.stop(timedelta(seconds=5)))
        gate.set()
        await stopping
        assert worker.stats.released == 1
        await testing.assert_job_succeeded(app, first)
        info = await testing.assert_job_status(app, second, jm.JobStatus.QUEUED)
        assert info.attempt_count == 0  # the claim's attempt was given back
        assert await testing.drain(app) == 1
        done = await testing.assert_job_succeeded(app, second)
        assert [a.number for a in done.attempts] == [1]


async def test_stop_after_grace_abandons_running_jobs_back_to_the_queue() -> None:
    started = asyncio.Event()
    contexts: list[jm.JobContext] = []

    @jm.job_handler
    async def hangs(job: jm.JobContext) -> None:
        contexts.append(job)
        started.set()
        await asyncio.Event().wait()

    async with testing.manual(handlers=[hangs]) as app:
        job = await app.scheduler.once_now(hangs)
        worker = claim_worker(app, concurrency=1, batch_size=1, lanes=("*",))
        await worker.start()
        await asyncio.wait_for(started.wait(), 5)
        await worker.stop(timedelta(0))
        info = await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
        assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.ABANDONED]
        assert contexts[0].is_cancelled


async def test_run_once_respects_concurrency() -> None:
    running, peak = 0, 0

    @jm.job_handler
    async def counted(job: jm.JobContext) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1

    async with testing.manual(handlers=[counted]) as app:
        await app.scheduler.bulk_once_now(counted, [{}] * 5)
        worker = claim_worker(app, concurrency=1, batch_size=5, lanes=("*",))
        assert await worker.run_once() == 5
        await worker.stop()
    assert peak == 1


# -- cooperative cancellation of a running job ------------------------------------------------
async def cancel_running_job(config: jm.ClusterConfig) -> jm.JobInfo:
    started, seen = asyncio.Event(), asyncio.Event()

    @jm.job_handler(definition_id="cooperative")
    async def cooperative(job: jm.JobContext) -> None:
        started.set()
        try:
            await asyncio.wait_for(job.cancelled.wait(), 0.8)
        except TimeoutError:
            return
        seen.set()
        raise jm.JobCancelledError("stopped on request")

    async with jm.JobMaster(config, handlers=[cooperative]) as app:
        job = await app.scheduler.once_now(cooperative)
        await asyncio.wait_for(started.wait(), 5)
        assert await app.scheduler.cancel(job.id) is True  # running: a cooperative request
        await asyncio.wait_for(seen.wait(), 0.7)
        await app.workers[0].stop()
        await app.sync_now()
        info = await app.get_job(job.id)
        assert info is not None
        return info


async def test_running_job_sees_cancellation_on_sqlite(tmp_path: Path) -> None:
    config = (
        jm.ClusterConfig.standalone("coop")
        .use_sqlite(str(tmp_path / "jm.db"))
        .add_worker(lease=timedelta(seconds=1))
    )
    info = await cancel_running_job(config)
    assert info.status is jm.JobStatus.CANCELLED
    assert info.attempts[-1].error == "stopped on request"


async def test_running_job_sees_cancellation_on_memory() -> None:
    config = testing.memory_config(lanes=["*"])
    config.workers[0] = WorkerConfig(lanes=("*",), lease=timedelta(seconds=1))
    try:
        info = await cancel_running_job(config)
        assert info.status is jm.JobStatus.CANCELLED
    finally:
        testing.reset_memory_space(config.master.target)  # type: ignore[union-attr]


async def test_get_job_while_running_shows_the_running_attempt_and_history() -> None:
    seen: list[jm.JobInfo | None] = []
    app_ref: list[jm.JobMaster] = []

    @jm.job_handler(definition_id="inspects", max_retries=1)
    async def inspects(job: jm.JobContext) -> None:
        seen.append(await app_ref[0].get_job(job.id))
        if job.attempt == 1:
            raise RuntimeError("first attempt fails")

    async with testing.manual(handlers=[inspects]) as app:
        app_ref.append(app)
        job = await app.scheduler.once_now(inspects)
        await testing.drain(app)
        worker_id = app.workers[0].worker_id
    first, second = seen
    assert first is not None and second is not None
    assert first.status is jm.JobStatus.PROCESSING
    assert [(a.number, a.outcome, a.worker_id) for a in first.attempts] == [
        (1, jm.AttemptOutcome.RUNNING, worker_id)
    ]
    assert second.id == job.id and second.status is jm.JobStatus.PROCESSING
    assert [(a.number, a.outcome) for a in second.attempts] == [
        (1, jm.AttemptOutcome.FAILED),
        (2, jm.AttemptOutcome.RUNNING),
    ]
