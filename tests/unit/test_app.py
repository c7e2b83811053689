"""The application object: lifecycle, background loops, queries, the sync facade."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobmaster as jm
from jobmaster import testing

ran: list[str] = []
ran_lock = threading.Lock()
ran_event = threading.Event()


@jm.job_handler(definition_id="app.record")
def record(job: jm.JobContext) -> None:
    with ran_lock:
        ran.append(job.id)
    ran_event.set()


@jm.job_handler(definition_id="app.other", lane="reports")
async def other(job: jm.JobContext) -> None:
    return None


@pytest.fixture
def config() -> Iterator[jm.ClusterConfig]:
    ran.clear()
    ran_event.clear()
    config = testing.memory_config("app-tests")
    yield config
    assert config.master is not None
    testing.reset_memory_space(config.master.target)


async def test_start_and_stop_are_idempotent(config: jm.ClusterConfig) -> None:
    app = jm.JobMaster(config, handlers=[record])
    await app.stop()  # not started: nothing to do
    await app.start()
    await app.start()
    assert len(app.workers) == 1
    await app.stop()
    await app.stop()
    assert app.workers == [] and app.master is None


async def test_background_workers_run_jobs_and_stop_syncs(config: jm.ClusterConfig) -> None:
    async with jm.JobMaster(config, handlers=[record]) as app:
        job = await app.scheduler.once_now(record)
        await asyncio.to_thread(ran_event.wait, 5)
        workers = await app.master.list_workers()  # type: ignore[union-attr]
        assert [w.id for w in workers] == [app.workers[0].worker_id]
        assert workers[0].status == "active" and workers[0].agent == "standalone"
    assert ran == [job.id]
    # a producer-only app on the same space sees the synced history
    producer = jm.JobMaster(config, handlers=[record])
    await producer.start(run_workers=False)
    try:
        assert producer.workers == []
        await testing.assert_job_succeeded(producer, job)
        [worker] = await producer.master.list_workers()  # type: ignore[union-attr]
        assert worker.status == "stopped"
    finally:
        await producer.stop()


async def test_producer_only_app_schedules_without_running(config: jm.ClusterConfig) -> None:
    producer = jm.JobMaster(config, handlers=[record])
    await producer.start(run_workers=False)
    try:
        job = await producer.scheduler.once_now(record)
        assert producer.workers == [] and producer.syncer is None
        assert await producer.sync_now() == 0  # in flight: nothing for the history yet
        info = await testing.assert_job_status(producer, job, jm.JobStatus.QUEUED)
        assert info.attempts == []
    finally:
        await producer.stop()
    assert ran == []


async def test_get_job_merges_live_state_with_history() -> None:
    async with testing.manual(handlers=[record]) as app:
        job = await app.scheduler.once_now(record, {"k": 1})
        live = await app.get_job(job.id)
        assert live is not None and live.status is jm.JobStatus.QUEUED
        assert live.msg_data == jm.MessageData(k=1)
        assert await app.get_job("unknown") is None
        page = await app.list_jobs()  # in flight: listed from the agent
        assert [(j.id, j.status) for j in page.items] == [(job.id, jm.JobStatus.QUEUED)]
        await testing.drain(app)
        page = await app.list_jobs()  # finished: listed once, from the history
        assert [(j.id, j.status) for j in page.items] == [(job.id, jm.JobStatus.SUCCEEDED)]


async def test_list_jobs_filters_and_pages() -> None:
    async with testing.manual(handlers=[record, other]) as app:
        done = [await app.scheduler.once_now(record) for _ in range(5)]
        reports = await app.scheduler.once_now(other)
        await testing.drain(app)
        waiting = await app.scheduler.once_after(record, 3600)
        await app.sync_now()
        succeeded = await app.list_jobs(status=jm.JobStatus.SUCCEEDED, limit=100)
        assert len(succeeded.items) == 6
        by_definition = await app.list_jobs(definition=record, limit=100)
        assert {j.id for j in by_definition.items} == {j.id for j in [*done, waiting]}
        assert [j.id for j in (await app.list_jobs(definition="app.other")).items] == [reports.id]
        assert [j.id for j in (await app.list_jobs(lane="reports")).items] == [reports.id]
        queued = await app.list_jobs(status=jm.JobStatus.QUEUED)
        assert [j.id for j in queued.items] == [waiting.id]
        seen: list[str] = []
        cursor = None
        while True:
            page = await app.list_jobs(limit=3, cursor=cursor)
            seen += [j.id for j in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 7
        created = [j.created_at for j in (await app.list_jobs(limit=100)).items]
        assert created == sorted(created, reverse=True)  # newest first
        future = datetime.now(UTC) + timedelta(days=1)
        assert (await app.list_jobs(created_from=future)).items == []
        with pytest.raises(jm.UnknownHandlerError):
            await app.list_jobs(definition=test_list_jobs_filters_and_pages)
        with pytest.raises(ValueError, match="cursor"):
            await app.list_jobs(cursor="not-a-cursor!")


async def test_unreachable_backend_at_start_is_one_line(config: jm.ClusterConfig) -> None:
    pytest.importorskip("asyncpg")
    bad = jm.ClusterConfig.standalone("pg").use_postgres("postgresql://postgres@127.0.0.1:1/x")
    app = jm.JobMaster(bad.add_worker(), handlers=[record])
    with pytest.raises(jm.BackendUnavailableError) as caught:
        await app.start()
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1:1" in message
    with pytest.raises(jm.NotStartedError):
        await app.get_job("x")


# -- the sync facade ------------------------------------------------------------------------
def test_scheduler_sync_from_a_plain_thread(config: jm.ClusterConfig) -> None:
    app = jm.JobMaster(config, handlers=[record])
    app.start_in_background()
    try:
        job = app.scheduler_sync.once_now(record, {"from": "thread"})
        assert ran_event.wait(5)
        assert ran == [job.id]
        later = app.scheduler_sync.once_after(record, timedelta(hours=1))
        assert app.scheduler_sync.reschedule(later.id, datetime.now(UTC) + timedelta(hours=2))
        assert app.scheduler_sync.cancel(later.id) is True
        assert app.scheduler_sync.cancel("unknown") is False
        assert app.scheduler_sync.retry_now("unknown") is False
        when = datetime.now(UTC) + timedelta(hours=3)
        assert app.scheduler_sync.once_at(record, when).scheduled_at == when
        bulk = app.scheduler_sync.bulk_once_now(record, iter([{}, {}]))
        assert len(bulk) == 2
        with pytest.raises(jm.UnknownHandlerError):
            app.scheduler_sync.once_now(other)
    finally:
        app.stop_background()
    with pytest.raises(jm.NotStartedError):
        app.scheduler_sync.once_now(record)


def test_start_in_background_reports_start_errors() -> None:
    app = jm.JobMaster(jm.ClusterConfig.standalone("bad id").use_memory("m"), handlers=[record])
    with pytest.raises(jm.ConfigurationError, match="cluster_id"):
        app.start_in_background()
    app.stop_background()


async def test_scheduler_sync_on_the_loop_thread_is_refused(config: jm.ClusterConfig) -> None:
    async with testing.manual(handlers=[record], config=config) as app:
        with pytest.raises(RuntimeError, match="event loop thread"):
            app.scheduler_sync.once_now(record)
        assert (await app.list_jobs()).items == []


async def test_sync_now_after_a_restart_as_producer(tmp_path: Path) -> None:
    config = jm.ClusterConfig.standalone("restart").use_sqlite(str(tmp_path / "r.db")).add_worker()
    app = jm.JobMaster(config, handlers=[record])
    await app.start()
    await app.stop()
    await app.start(run_workers=False)
    try:
        job = await app.scheduler.once_now(record)
        assert await app.scheduler.cancel(job.id)  # a final state: one event for the history
        assert await app.sync_now() == 1
    finally:
        await app.stop()
