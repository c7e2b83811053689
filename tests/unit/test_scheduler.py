"""The scheduler: overrides, idempotency, bulk, delays, cancel, reschedule, retry, bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

import jobmaster as jm
from jobmaster import testing

recorder = testing.JobRecorder()
notify = recorder.handler(
    "notify", max_retries=2, metadata={"team": "growth", "tier": "1"}, priority=jm.Priority.LOW
)
flaky = recorder.handler("flaky", fail_times=1, max_retries=3)


class Unregistered(jm.JobHandler):
    async def handle(self, job: jm.JobContext) -> None:
        return None


@pytest.fixture
async def app() -> AsyncIterator[testing.EagerJobMaster]:
    recorder.clear()
    async with testing.manual(handlers=[notify, flaky]) as app:
        yield app


def soon(seconds: float = 3600) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_handler_defaults_apply(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(notify, {"n": 1})
    assert job.created and job.definition_id == "notify" and job.scheduled_at is None
    assert job.priority is jm.Priority.LOW and job.lane == "default"
    info = await app.get_job(job.id)
    assert info is not None and info.status is jm.JobStatus.QUEUED
    assert info.max_retries == 2 and info.priority == jm.Priority.LOW
    assert info.metadata == jm.Metadata(team="growth", tier="1")


async def test_per_job_overrides(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(
        notify,
        {"n": 1},
        priority=jm.Priority.CRITICAL,
        lane="urgent",
        timeout=1.5,
        max_retries=0,
        metadata={"tier": "2", "extra": True},
    )
    assert job.priority is jm.Priority.CRITICAL and job.lane == "urgent"
    info = await app.get_job(job.id)
    assert info is not None
    assert (info.priority, info.lane, info.max_retries) == (5, "urgent", 0)
    assert info.metadata == jm.Metadata(team="growth", tier="2", extra=True)
    await testing.drain(app)
    [context] = recorder.for_job(job.id)
    assert context.timeout == timedelta(seconds=1.5)
    timed = await app.scheduler.once_now(notify, timeout=timedelta(minutes=2))
    await testing.drain(app)
    assert recorder.for_job(timed.id)[0].timeout == timedelta(minutes=2)


async def test_backoff_override_sets_the_retry_delay(app: testing.EagerJobMaster) -> None:
    backoff = jm.Backoff(initial=timedelta(seconds=100), maximum=timedelta(seconds=100), jitter=0.0)
    job = await app.scheduler.once_now(flaky, backoff=backoff)
    await testing.drain(app, skip_backoff=False)
    info = await app.get_job(job.id)
    assert info is not None and info.status is jm.JobStatus.QUEUED and info.attempt_count == 1
    [attempt] = info.attempts
    assert attempt.finished_at is not None
    delay = (info.scheduled_at - attempt.finished_at).total_seconds()
    assert 99 <= delay <= 101


async def test_default_backoff_is_stored_with_the_job(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(flaky)
    row = app.agents["standalone"].space.jobs[job.id]  # type: ignore[attr-defined]
    assert json.loads(row.job.backoff) == jm.Backoff().to_json()


async def test_idempotency_key_returns_the_first_job(app: testing.EagerJobMaster) -> None:
    first = await app.scheduler.once_now(notify, {"n": 1}, idempotency_key="order-42")
    second = await app.scheduler.once_now(notify, {"n": 2}, idempotency_key="order-42")
    assert first.created and not second.created and second.id == first.id
    await testing.drain(app)
    await testing.assert_job_succeeded(app, first.id)
    # finished and synced: the key is still taken (it lives on the master now)
    assert app.agents["standalone"].space.jobs == {}  # type: ignore[attr-defined]
    third = await app.scheduler.once_now(notify, {"n": 3}, idempotency_key="order-42")
    assert not third.created and third.id == first.id
    assert len(recorder.calls) == 1
    other = await app.scheduler.once_now(notify, idempotency_key="order-43")
    assert other.created and other.id != first.id


async def test_idempotency_key_after_finish_before_sync(app: testing.EagerJobMaster) -> None:
    first = await app.scheduler.once_now(notify, idempotency_key="k")
    for worker in app.workers:
        await worker.run_once()  # finished on the agent, not synced yet
    again = await app.scheduler.once_now(notify, idempotency_key="k")
    assert again.id == first.id and not again.created


@pytest.mark.parametrize("key", ["", "x" * 201, 42])
async def test_bad_idempotency_key(app: testing.EagerJobMaster, key: object) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        await app.scheduler.once_now(notify, idempotency_key=key)


async def test_bulk_once_now(app: testing.EagerJobMaster) -> None:
    jobs = await app.scheduler.bulk_once_now(
        notify, [{"n": i} for i in range(25)], bulk_batch_size=10, lane="bulk"
    )
    assert len({job.id for job in jobs}) == 25 and all(job.lane == "bulk" for job in jobs)
    assert await testing.drain(app) == 25
    page = await app.list_jobs(status=jm.JobStatus.SUCCEEDED, limit=100)
    assert len(page.items) == 25
    assert sorted(c.msg_data.get_int("n") for c in recorder.calls) == list(range(25))
    assert await app.scheduler.bulk_once_now(notify, []) == []


async def test_bulk_refuses_a_shared_idempotency_key(app: testing.EagerJobMaster) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        await app.scheduler.bulk_once_now(notify, [{}, {}], idempotency_key="k")


async def test_once_after_is_not_run_before_due(app: testing.EagerJobMaster) -> None:
    before = datetime.now(UTC)
    job = await app.scheduler.once_after(notify, timedelta(seconds=60), {"n": 1})
    assert job.scheduled_at is not None
    assert 59 <= (job.scheduled_at - before).total_seconds() <= 61
    assert await testing.drain(app) == 0
    info = await app.get_job(job.id)
    assert info is not None and info.status is jm.JobStatus.QUEUED
    assert info.scheduled_at == job.scheduled_at
    assert recorder.calls == []
    assert await testing.drain(app, run_delayed=True) == 1
    await testing.assert_job_succeeded(app, job)


async def test_once_after_accepts_seconds_and_zero(app: testing.EagerJobMaster) -> None:
    later = await app.scheduler.once_after(notify, 30.0)
    now = await app.scheduler.once_after(notify, 0)
    assert later.scheduled_at is not None and now.scheduled_at is None
    assert await testing.drain(app) == 1


async def test_once_at(app: testing.EagerJobMaster) -> None:
    when = soon()
    job = await app.scheduler.once_at(notify, when, {"n": 1})
    assert job.scheduled_at == when
    assert await testing.drain(app) == 0
    past = await app.scheduler.once_at(notify, datetime.now(UTC) - timedelta(minutes=1))
    assert await testing.drain(app) == 1
    await testing.assert_job_succeeded(app, past)


async def test_once_at_keeps_the_instant_of_other_zones(app: testing.EagerJobMaster) -> None:
    from zoneinfo import ZoneInfo

    when = datetime(2030, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    job = await app.scheduler.once_at(notify, when)
    assert job.scheduled_at == when and job.scheduled_at is not None
    assert job.scheduled_at.tzinfo is UTC


async def test_cancel_queued_and_unknown(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(notify)
    assert await app.scheduler.cancel(job.id) is True
    assert await testing.drain(app) == 0
    await testing.assert_job_cancelled(app, job.id)
    assert await app.scheduler.cancel(job.id) is False  # already final
    assert await app.scheduler.cancel("no-such-job") is False


async def test_cancel_delayed_job(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_after(notify, 600)
    assert await app.scheduler.cancel(job.id)
    assert await testing.drain(app, run_delayed=True) == 0
    await testing.assert_job_cancelled(app, job.id)


async def test_reschedule(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(notify)
    when = soon(7200)
    assert await app.scheduler.reschedule(job.id, when) is True
    info = await app.get_job(job.id)
    assert info is not None and info.scheduled_at == when and info.status is jm.JobStatus.QUEUED
    assert await testing.drain(app) == 0
    with pytest.raises(ValueError, match="naive"):
        await app.scheduler.reschedule(job.id, datetime(2030, 1, 1))
    assert await app.scheduler.reschedule("no-such-job", when) is False
    assert await app.scheduler.reschedule(job.id, datetime.now(UTC)) is True
    assert await testing.drain(app) == 1
    assert await app.scheduler.reschedule(job.id, when) is False  # finished


async def test_retry_now(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_after(notify, timedelta(hours=1))
    assert await app.scheduler.retry_now(job.id) is True
    assert await testing.drain(app) == 1
    await testing.assert_job_succeeded(app, job)
    assert await app.scheduler.retry_now(job.id) is False
    assert await app.scheduler.retry_now("no-such-job") is False


async def test_retry_now_skips_a_backoff_wait(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now(
        flaky, backoff=jm.Backoff(initial=timedelta(hours=1), maximum=timedelta(hours=1))
    )
    await testing.drain(app, skip_backoff=False)
    assert await testing.drain(app, skip_backoff=False) == 0
    assert await app.scheduler.retry_now(job.id)
    assert await testing.drain(app, skip_backoff=False) == 1
    info = await testing.assert_job_succeeded(app, job)
    assert [a.outcome for a in info.attempts] == [
        jm.AttemptOutcome.FAILED,
        jm.AttemptOutcome.SUCCEEDED,
    ]


# -- bad input ------------------------------------------------------------------------------
async def test_unregistered_handler_is_named(app: testing.EagerJobMaster) -> None:
    with pytest.raises(jm.UnknownHandlerError, match=f"{__name__}.Unregistered"):
        await app.scheduler.once_now(Unregistered)
    with pytest.raises(jm.UnknownHandlerError, match=r"'no\.such\.handler'"):
        await app.scheduler.once_now("no.such.handler")


async def test_handler_by_definition_id(app: testing.EagerJobMaster) -> None:
    job = await app.scheduler.once_now("notify", {"n": 1})
    assert job.definition_id == "notify"


async def test_payload_over_the_default_limit(app: testing.EagerJobMaster) -> None:
    assert app.config.options.max_message_bytes == 256 * 1024
    with pytest.raises(jm.PayloadTooLargeError) as caught:
        await app.scheduler.once_now(notify, {"blob": "x" * (256 * 1024)})
    error = caught.value
    assert error.limit == 256 * 1024 and error.size > error.limit
    assert str(error.size) in str(error) and "262144" in str(error)
    assert await testing.drain(app) == 0
    page = await app.list_jobs()
    assert page.items == []
    await app.scheduler.once_now(notify, {"blob": "x" * (200 * 1024)})  # under the limit


async def test_payload_limit_counts_metadata_and_is_configurable() -> None:
    config = testing.memory_config(max_message_bytes=100)
    async with testing.manual(handlers=[notify], config=config) as app:
        with pytest.raises(jm.PayloadTooLargeError, match="100 bytes"):
            await app.scheduler.once_now(notify, metadata={"note": "y" * 100})
        testing.reset_memory_space(config.master.target)  # type: ignore[union-attr]


async def test_unencodable_value_names_the_key(app: testing.EagerJobMaster) -> None:
    with pytest.raises(TypeError, match="'callback'"):
        await app.scheduler.once_now(notify, {"fine": 1, "callback": object()})
    with pytest.raises(TypeError, match="when"):
        await app.scheduler.once_now(notify, metadata={"when": {1, 2}})


async def test_naive_datetimes_are_refused(app: testing.EagerJobMaster) -> None:
    with pytest.raises(ValueError, match="naive"):
        await app.scheduler.once_at(notify, datetime(2030, 1, 1, 12))
    with pytest.raises(ValueError, match=r"naive|aware"):
        await app.scheduler.once_now(notify, {"at": datetime(2030, 1, 1)})
    with pytest.raises(TypeError, match="datetime"):
        await app.scheduler.once_at(notify, "2030-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="created_from"):
        await app.list_jobs(created_from=datetime(2030, 1, 1))


async def test_negative_delay_is_refused(app: testing.EagerJobMaster) -> None:
    with pytest.raises(ValueError, match="delay must not be negative"):
        await app.scheduler.once_after(notify, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="negative"):
        await app.scheduler.once_after(notify, -5)


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
async def test_bad_max_retries_is_refused(app: testing.EagerJobMaster, value: object) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        await app.scheduler.once_now(notify, max_retries=value)


@pytest.mark.parametrize("value", [0, -2.0, timedelta(0)])
async def test_bad_timeout_is_refused(app: testing.EagerJobMaster, value: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await app.scheduler.once_now(notify, timeout=value)


async def test_bad_lane_priority_and_backoff(app: testing.EagerJobMaster) -> None:
    with pytest.raises(ValueError, match="lane"):
        await app.scheduler.once_now(notify, lane="l" * 65)
    with pytest.raises(ValueError):
        await app.scheduler.once_now(notify, priority=9)
    with pytest.raises(TypeError, match="Backoff"):
        await app.scheduler.once_now(notify, backoff={"initial": 1})


async def test_unknown_scheduling_option_is_named(app: testing.EagerJobMaster) -> None:
    with pytest.raises(TypeError, match=r"unknown scheduling option.*priorty"):
        await app.scheduler.once_now(notify, priorty=jm.Priority.HIGH)
    with pytest.raises(TypeError, match="delay"):
        await app.scheduler.bulk_once_now(notify, [{}], delay=3)
    assert await testing.drain(app) == 0


async def test_list_jobs_limit_is_checked(app: testing.EagerJobMaster) -> None:
    for limit in (0, -1, 1001):
        with pytest.raises(ValueError, match="limit"):
            await app.list_jobs(limit=limit)


async def test_use_before_start_raises_not_started() -> None:
    app = jm.JobMaster(testing.memory_config(), handlers=[notify])
    with pytest.raises(jm.NotStartedError):
        await app.get_job("x")
    with pytest.raises(jm.NotStartedError):
        await app.list_jobs()
    with pytest.raises(jm.NotStartedError):
        await app.scheduler.cancel("x")
    with pytest.raises(jm.NotStartedError):
        await app.sync_now()
    with pytest.raises(jm.NotStartedError):
        app.scheduler_sync.once_now(notify)


async def test_scheduling_before_start_raises_not_started() -> None:
    app = jm.JobMaster(testing.memory_config(), handlers=[notify])
    with pytest.raises(jm.NotStartedError):
        await app.scheduler.once_now(notify)


async def test_use_after_stop_raises_not_started() -> None:
    async with testing.manual(handlers=[notify]) as app:
        pass
    with pytest.raises(jm.NotStartedError):
        await app.scheduler.once_now(notify)
