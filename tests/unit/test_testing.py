"""The users' test kit: eager and manual modes, drain, assertions, the recorder."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobmaster as jm
from jobmaster import testing
from jobmaster.backends import memory

recorder = testing.JobRecorder()
flaky = recorder.handler(
    "flaky",
    fail_times=2,
    max_retries=3,
    backoff=jm.Backoff(initial=timedelta(hours=1), maximum=timedelta(hours=2)),
)
broken = recorder.handler("broken", fail_times=100, max_retries=1, error=KeyError)
ok = recorder.handler("ok")
emails = recorder.handler("emails", lane="emails")


@pytest.fixture(autouse=True)
def _clear() -> None:
    recorder.clear()


def test_reexports_the_memory_backend() -> None:
    assert testing.MemoryAgent is memory.MemoryAgent
    assert testing.MemoryMaster is memory.MemoryMaster
    assert testing.reset_memory_space is memory.reset_memory_space
    assert set(testing.__all__) >= {
        "EagerJobMaster",
        "eager",
        "drain",
        "memory_config",
        "assert_job_succeeded",
        "assert_job_failed",
        "JobRecorder",
    }


async def test_eager_once_now_has_run_when_it_returns() -> None:
    async with testing.eager(handlers=[ok]) as app:
        job = await app.scheduler.once_now(ok, {"UserId": "u1"})
        assert recorder.job_ids == [job.id]
        info = await app.get_job(job.id)
        assert info is not None and info.status is jm.JobStatus.SUCCEEDED
        assert len(info.attempts) == 1 and info.attempts[0].outcome is jm.AttemptOutcome.SUCCEEDED


async def test_eager_retries_ignore_backoff() -> None:
    async with testing.eager(handlers=[flaky, broken]) as app:
        job = await app.scheduler.once_now(flaky)
        info = await testing.assert_job_succeeded(app, job)
        assert [a.outcome for a in info.attempts] == [
            jm.AttemptOutcome.FAILED,
            jm.AttemptOutcome.FAILED,
            jm.AttemptOutcome.SUCCEEDED,
        ]
        failing = await app.scheduler.once_now(broken)
        info = await testing.assert_job_failed(app, failing, error_contains="KeyError")
        assert len(info.attempts) == 2


async def test_eager_can_keep_backoff_delays() -> None:
    async with testing.eager(handlers=[flaky], skip_backoff=False) as app:
        job = await app.scheduler.once_now(flaky)
        info = await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
        assert info.attempt_count == 1 and info.scheduled_at > datetime.now(UTC)
        assert await testing.drain(app, skip_backoff=True) == 2
        await testing.assert_job_succeeded(app, job)


async def test_eager_runs_delayed_jobs_at_once() -> None:
    async with testing.eager(handlers=[ok]) as app:
        later = await app.scheduler.once_after(ok, timedelta(days=1))
        at = await app.scheduler.once_at(ok, datetime.now(UTC) + timedelta(hours=5))
        assert recorder.job_ids == [later.id, at.id]
        await testing.assert_job_succeeded(app, later)


async def test_eager_can_keep_delayed_jobs_waiting() -> None:
    async with testing.eager(handlers=[ok], run_delayed=False) as app:
        later = await app.scheduler.once_after(ok, timedelta(days=1))
        assert recorder.calls == []
        await testing.assert_job_status(app, later, jm.JobStatus.QUEUED)
        assert await app.scheduler.retry_now(later.id)  # eager: runs now
        await testing.assert_job_succeeded(app, later)
        other = await app.scheduler.once_after(ok, timedelta(days=1))
        assert await app.scheduler.reschedule(other.id, datetime.now(UTC))
        await testing.assert_job_succeeded(app, other)


async def test_eager_bulk_runs_every_job() -> None:
    async with testing.eager(handlers=[ok]) as app:
        jobs = await app.scheduler.bulk_once_now(ok, [{"i": i} for i in range(120)])
        assert sorted(recorder.job_ids) == sorted(j.id for j in jobs)
        page = await app.list_jobs(status=jm.JobStatus.SUCCEEDED, limit=1000)
        assert len(page.items) == 120


async def test_jobs_scheduled_by_a_handler_run_before_the_call_returns() -> None:
    app_ref: list[testing.EagerJobMaster] = []

    @jm.job_handler(definition_id="parent")
    async def parent(job: jm.JobContext) -> None:
        recorder.record(job)
        child = await app_ref[0].scheduler.once_now(ok, {"parent": job.id})
        assert recorder.job_ids[-1] != child.id  # runs after this handler returns

    async with testing.eager(handlers=[parent, ok]) as app:
        app_ref.append(app)
        job = await app.scheduler.once_now(parent)
        [first, second] = recorder.calls
        assert first.id == job.id and second.msg_data.get_str("parent") == job.id
        await testing.assert_job_succeeded(app, second.id)


async def test_concurrent_eager_calls_each_return_after_their_job() -> None:
    gate, started = asyncio.Event(), asyncio.Event()

    @jm.job_handler(definition_id="waits")
    async def waits(job: jm.JobContext) -> None:
        recorder.record(job)
        started.set()
        await gate.wait()

    async with testing.eager(handlers=[waits, ok]) as app:
        first = asyncio.create_task(app.scheduler.once_now(waits))
        await asyncio.wait_for(started.wait(), 5)
        second = asyncio.create_task(app.scheduler.once_now(ok))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done()  # waits for the running drain, then for its own job
        gate.set()
        done = await asyncio.gather(first, second)
        for job in done:
            await testing.assert_job_succeeded(app, job)


async def test_runaway_handler_hits_max_jobs() -> None:
    app_ref: list[testing.EagerJobMaster] = []

    @jm.job_handler(definition_id="forever")
    async def forever(job: jm.JobContext) -> None:
        await app_ref[0].scheduler.once_now(forever)

    async with testing.eager(handlers=[forever], max_jobs=20) as app:
        app_ref.append(app)
        with pytest.raises(RuntimeError, match="max_jobs=20"):
            await app.scheduler.once_now(forever)


async def test_unknown_handler_and_unserved_lane_do_not_loop() -> None:
    name = f"kit-{uuid.uuid4().hex}"
    config = jm.ClusterConfig.standalone("kit").use_memory(name).add_worker()  # default lane
    try:
        async with testing.eager(handlers=[ok, emails], config=config) as app:
            job = await app.scheduler.once_after(emails, 60)
            await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
            assert recorder.calls == []
        assert memory.memory_space(name).jobs  # a given config's space is kept
    finally:
        testing.reset_memory_space(name)


async def test_config_without_workers_gets_an_all_lanes_worker() -> None:
    name = f"kit-{uuid.uuid4().hex}"
    config = jm.ClusterConfig.standalone("kit").use_memory(name)
    try:
        async with testing.eager(handlers=[emails], config=config) as app:
            await testing.assert_job_succeeded(app, await app.scheduler.once_now(emails))
            assert [w.config.all_lanes for w in app.workers] == [True]
    finally:
        testing.reset_memory_space(name)


async def test_eager_on_sqlite(tmp_path: Path) -> None:
    config = jm.ClusterConfig.standalone("kit").use_sqlite(str(tmp_path / "kit.db")).add_worker()
    async with testing.eager(handlers=[flaky], config=config) as app:
        job = await app.scheduler.once_now(flaky)
        info = await testing.assert_job_succeeded(app, job)
        assert len(info.attempts) == 3
    async with testing.manual(handlers=[ok], config=config) as app:
        waiting = await app.scheduler.once_now(ok)
    async with testing.manual(handlers=[ok], config=config) as app:  # synced at stop
        assert [j.id for j in (await app.list_jobs(status=jm.JobStatus.QUEUED)).items] == [
            waiting.id
        ]


async def test_eager_space_is_forgotten_and_workers_registered() -> None:
    async with testing.eager(handlers=[ok]) as app:
        assert app.config.master is not None
        name = app.config.master.target
        assert name in memory._SPACES
        workers = await app.master.list_workers()  # type: ignore[union-attr]
        assert [w.id for w in workers] == [w.worker_id for w in app.workers]
    assert name not in memory._SPACES


async def test_producer_eager_app_does_not_run() -> None:
    app = testing.EagerJobMaster(handlers=[ok])
    await app.start(run_workers=False)
    try:
        job = await app.scheduler.once_now(ok)
        assert recorder.calls == [] and app.workers == []
        assert await testing.drain(app) == 0
        await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
    finally:
        await app.stop()
        assert app.config.master is not None
        testing.reset_memory_space(app.config.master.target)


async def test_manual_mode_waits_for_drain() -> None:
    async with testing.manual(handlers=[ok, flaky]) as app:
        job = await app.scheduler.once_now(ok)
        retried = await app.scheduler.once_now(flaky)
        assert recorder.calls == []
        assert await app.scheduler.cancel(job.id)
        assert await testing.drain(app) == 3
        await testing.assert_job_cancelled(app, job)
        await testing.assert_job_succeeded(app, retried)


async def test_drain_on_a_plain_app() -> None:
    config = testing.memory_config()
    assert config.master is not None
    app = jm.JobMaster(config, handlers=[ok])
    await app.start(run_workers=False)
    try:
        job = await app.scheduler.once_now(ok)
        assert await testing.drain(app) == 0  # no workers: only syncs
        await testing.assert_job_status(app, job, jm.JobStatus.QUEUED)
        with pytest.raises(ValueError, match="EagerJobMaster"):
            await testing.drain(app, skip_backoff=True)
    finally:
        await app.stop()
    async with jm.JobMaster(config, handlers=[ok]) as running:
        await testing.drain(running)
        await testing.assert_job_succeeded(running, job)
    testing.reset_memory_space(config.master.target)


async def test_assertion_messages_explain_the_state() -> None:
    async with testing.eager(handlers=[broken, ok]) as app:
        job = await app.scheduler.once_now(broken)
        with pytest.raises(AssertionError) as caught:
            await testing.assert_job_succeeded(app, job)
        message = str(caught.value)
        assert "expected succeeded" in message and "is failed" in message
        assert "attempt #2: failed" in message and "KeyError" in message
        with pytest.raises(AssertionError, match="to contain 'ValueError'"):
            await testing.assert_job_failed(app, job, error_contains="ValueError")
        with pytest.raises(AssertionError, match="not found"):
            await testing.assert_job_succeeded(app, "no-such-job")
        good = await app.scheduler.once_now(ok)
        with pytest.raises(AssertionError, match="expected failed"):
            await testing.assert_job_failed(app, good)


async def test_eager_with_the_sync_facade_from_a_thread() -> None:
    async with testing.eager(handlers=[ok]) as app:
        job = await asyncio.to_thread(app.scheduler_sync.once_now, ok, {"x": 1})
        assert recorder.job_ids == [job.id]


def test_recorder_is_thread_safe_and_filters() -> None:
    local = testing.JobRecorder()

    def context(job_id: str, attempt: int) -> jm.JobContext:
        now = datetime.now(UTC)
        return jm.JobContext(
            job_id,
            "c",
            "d",
            jm.MessageData(),
            jm.Metadata(),
            now,
            now,
            attempt,
            3,
            timedelta(seconds=1),
            jm.Priority.MEDIUM,
            "default",
        )

    def record_two(job_id: str) -> None:
        for attempt in (1, 2):
            local.record(context(job_id, attempt))

    threads = [threading.Thread(target=record_two, args=(f"j{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(local.calls) == 16
    assert [c.attempt for c in local.for_job("j3")] == [1, 2]
    assert set(local.job_ids) == {f"j{i}" for i in range(8)}
    local.clear()
    assert local.calls == []


def test_recorder_handler_options() -> None:
    local = testing.JobRecorder()
    handler = local.handler("h", max_retries=7, lane="x")
    spec = jm.JobMaster(testing.memory_config(), handlers=[handler]).registry
    from jobmaster.handlers import HandlerRegistry

    built = HandlerRegistry([handler]).resolve("h")
    assert (built.max_retries, built.lane, built.is_async) == (7, "x", True)
    assert spec.definition_ids == []  # resolved at start only
