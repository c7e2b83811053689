"""The test kit for applications built on JobMaster: in-memory clusters, eager mode, assertions.

Nothing here is a fake: the kit runs the real :class:`~jobmaster.JobMaster`, the real in-memory
backend (which passes the same conformance suite as the database backends) and the real worker,
driven through :meth:`Worker.run_once <jobmaster.runtime.worker.Worker.run_once>` instead of
background loops. Tests therefore never sleep to wait for a job.

Eager mode — scheduling a job runs it before the call returns::

    import jobmaster as jm
    from jobmaster import testing

    async def test_welcome_mail_is_sent() -> None:
        mailer = FakeMailer()
        async with testing.eager(handlers=[SendWelcome], services={Mailer: mailer}) as app:
            job = await app.scheduler.once_now(SendWelcome, jm.MessageData(UserId="u1"))
            await testing.assert_job_succeeded(app, job.id)
        assert mailer.sent == ["u1"]

In eager mode:

* ``once_now``, ``bulk_once_now``, ``retry_now`` and ``reschedule`` return after every job
  they made due (and every job those jobs scheduled) has run and the history is synced;
* a failed attempt is retried at once, **ignoring backoff delays** (``skip_backoff=False``
  keeps them), until the job succeeds or its attempts are exhausted;
* delayed jobs (``once_at``, ``once_after``) **run at once** as well (``run_delayed=False``
  keeps them waiting until their time, or until ``await drain(app, run_delayed=True)``);
* a job scheduled *from inside a handler* runs after that handler returns, before the
  outermost scheduling call returns (the worker is busy running the handler meanwhile).

Manual mode — jobs wait until the test runs them, one step at a time::

    async with testing.manual(handlers=[SendWelcome]) as app:
        first = await app.scheduler.once_now(SendWelcome, {"UserId": "u1"})
        assert (await app.get_job(first.id)).status is jm.JobStatus.QUEUED
        await testing.drain(app)        # run every due job (retries too), then sync
        await testing.assert_job_succeeded(app, first.id)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .app import JobMaster
from .backends.memory import MemoryAgent, MemoryMaster, reset_memory_space
from .config import ClusterConfig, WorkerConfig
from .errors import NotStartedError
from .handlers import HandlerFunc, JobContext, Services, job_handler
from .model import ALL_LANES, JobInfo, JobStatus, WorkerRecord
from .runtime.worker import Worker
from .scheduler import DataLike, ScheduledJob, Scheduler, SyncScheduler

__all__ = [
    "EagerJobMaster",
    "JobRecorder",
    "MemoryAgent",
    "MemoryMaster",
    "assert_job_cancelled",
    "assert_job_failed",
    "assert_job_status",
    "assert_job_succeeded",
    "drain",
    "eager",
    "manual",
    "memory_config",
    "reset_memory_space",
]

#: Set while :meth:`EagerJobMaster.run_due` runs; handler tasks inherit it (reentrant calls).
_DRAINING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "jm_testing_draining", default=False
)

#: Default safety limit of attempts one drain may run (a handler rescheduling itself forever).
DEFAULT_MAX_JOBS = 10_000


def memory_config(
    cluster_id: str = "test",
    *,
    space: str | None = None,
    lanes: Sequence[str] = (ALL_LANES,),
    concurrency: int = 10,
    batch_size: int = 100,
    **options: Any,
) -> ClusterConfig:
    """A standalone cluster on a fresh in-process memory space, with one worker.

    Each call uses a new, uniquely named space (``space`` picks the name instead: apps built on
    the same name share their jobs, like two processes sharing a database). The worker serves
    every lane by default. ``options`` are cluster options (``default_max_retries``,
    ``max_message_bytes``, ...).

    >>> config = memory_config(default_max_retries=0)
    >>> config.master.kind
    'memory'

    Free the space with :func:`reset_memory_space` (``config.master.target``) when done; the
    :func:`eager` and :func:`manual` helpers do it for you.
    """
    name = space if space is not None else f"{cluster_id}-{uuid.uuid4().hex[:12]}"
    return (
        ClusterConfig.standalone(cluster_id, **options)
        .use_memory(name)
        .add_worker(lanes=list(lanes), concurrency=concurrency, batch_size=batch_size)
    )


class EagerJobMaster(JobMaster):
    """A :class:`~jobmaster.JobMaster` whose workers run only when the test asks them to.

    No background loop runs: no fetch loop, syncer, rescuer or heartbeat. Workers are the real
    :class:`~jobmaster.runtime.worker.Worker`, driven by :meth:`run_due` (also reachable as
    :func:`drain`). With ``eager=True`` (the default) every scheduling call runs the jobs it made
    due before it returns; see the module docstring for the exact rules.

    Args:
        config: the cluster (default: :func:`memory_config`). Its workers decide which lanes
            run; a configuration without workers gets one serving every lane.
        eager: run jobs as part of each scheduling call (False: only in :meth:`run_due`).
        skip_backoff: retry failed attempts at once instead of after their backoff delay.
        run_delayed: run delayed jobs at once (default: ``eager``).
        max_jobs: safety limit of attempts per :meth:`run_due` (raises ``RuntimeError``).
    """

    def __init__(
        self,
        config: ClusterConfig | None = None,
        handlers: Iterable[object] = (),
        services: Services = None,
        static_profiles: Iterable[object] = (),
        *,
        eager: bool = True,
        skip_backoff: bool = True,
        run_delayed: bool | None = None,
        max_jobs: int = DEFAULT_MAX_JOBS,
    ) -> None:
        super().__init__(
            config if config is not None else memory_config(),
            handlers=handlers,
            services=services,
            static_profiles=static_profiles,
        )
        self.eager = eager
        self.skip_backoff = skip_backoff
        self.run_delayed = eager if run_delayed is None else run_delayed
        self.max_jobs = max_jobs
        self.scheduler = _EagerScheduler(self)
        self.scheduler_sync = SyncScheduler(self.scheduler, self._require_loop)
        #: Jobs scheduled through this app that are not known to be final yet.
        self._tracked: set[str] = set()
        self._drain_lock = asyncio.Lock()
        self._more_due = False

    async def start(self, *, run_workers: bool = True) -> None:
        """Connect and migrate like :meth:`JobMaster.start`, then create idle workers (not
        started: :meth:`run_due` drives them). ``run_workers=False`` gives a producer."""
        if self.master is not None:
            return
        await super().start(run_workers=False)
        if not run_workers:
            return
        assert self.master is not None
        worker_configs = self.config.workers or [WorkerConfig(lanes=(ALL_LANES,))]
        for index, worker_config in enumerate(worker_configs):
            agent_name = self.config.resolve_agent(worker_config)
            worker = Worker(
                worker_id=f"{worker_config.name or 'test-worker'}-{index}-{uuid.uuid4().hex[:6]}",
                cluster_id=self.config.cluster_id,
                config=worker_config,
                transport=self.agents[agent_name],
                registry=self.registry,
            )
            now = datetime.now(UTC)
            await self.master.register_worker(
                WorkerRecord(
                    id=worker.worker_id,
                    name=worker_config.name or worker.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    agent=agent_name,
                    lanes=worker_config.lanes,
                    concurrency=worker_config.concurrency,
                    started_at=now,
                    last_heartbeat=now,
                    status="active",
                )
            )
            self.workers.append(worker)

    async def stop(self, grace: timedelta | None = None) -> None:
        """Sync what is left in the agents' outboxes (no syncer loop runs here), then stop."""
        if self.master is not None:
            with contextlib.suppress(NotStartedError):
                await self.sync_now()
        await super().stop(grace)

    async def run_due(
        self, *, skip_backoff: bool | None = None, run_delayed: bool | None = None
    ) -> int:
        """Run every due job with the workers' ``run_once`` until none is due, then sync the
        history to the master. Returns the number of attempts run.

        ``skip_backoff`` and ``run_delayed`` (default: the app's settings) also make due the
        retries waiting for their backoff delay and the delayed jobs (those scheduled through
        this app; on the memory backend, every waiting job a worker here can run). A call made by a handler that this drain runs returns at once (the running drain
        picks the new job up); a call from another task waits for the running drain first.
        """
        if _DRAINING.get():
            self._more_due = True
            return 0
        skip = self.skip_backoff if skip_backoff is None else skip_backoff
        delayed = self.run_delayed if run_delayed is None else run_delayed
        async with self._drain_lock:
            token = _DRAINING.set(True)
            total = 0
            try:
                while True:
                    self._more_due = False
                    total += await self._run_rounds(total)
                    await self.sync_now()
                    if await self._make_waiting_due(skip, delayed) == 0 and not self._more_due:
                        return total
            finally:
                _DRAINING.reset(token)

    async def _run_rounds(self, already: int) -> int:
        ran = 0
        while True:
            round_ran = 0
            for worker in self.workers:
                round_ran += await worker.run_once()
            ran += round_ran
            if already + ran > self.max_jobs:
                raise RuntimeError(
                    f"the test kit ran more than max_jobs={self.max_jobs} attempts in one "
                    "drain: does a handler schedule itself forever?"
                )
            if round_ran == 0:
                return ran

    async def _make_waiting_due(self, skip_backoff: bool, run_delayed: bool) -> int:
        """Make due the waiting jobs (backoff delay or later time) a worker here can run."""
        if not (skip_backoff or run_delayed) or not self.workers:
            return 0
        made_due = 0
        now = datetime.now(UTC)
        for job_id in self._waiting_candidates(now):
            info = await self.get_job(job_id)
            if info is None or info.status.is_final:
                self._tracked.discard(job_id)
                continue
            if info.status not in (JobStatus.QUEUED, JobStatus.SCHEDULED):
                continue
            if info.scheduled_at <= now or not self._runnable(info):
                continue
            is_retry = info.attempt_count > 0
            if (skip_backoff if is_retry else run_delayed) and await Scheduler.retry_now(
                self.scheduler, job_id
            ):
                made_due += 1
        return made_due

    def _waiting_candidates(self, now: datetime) -> list[str]:
        """Jobs that may wait for a delay: those scheduled through this app and, on memory
        agents, every queued job due later (jobs other apps or schedules created)."""
        candidates = set(self._tracked)
        for agent in self.agents.values():
            if isinstance(agent, MemoryAgent):
                candidates.update(
                    job_id
                    for job_id, row in agent.space.jobs.items()
                    if row.status is JobStatus.QUEUED and row.scheduled_at > now
                )
        return sorted(candidates)

    def _runnable(self, info: JobInfo) -> bool:
        if self.registry.get(info.definition_id) is None:
            return False  # unknown handlers stay queued, untouched (DESIGN §6)
        return any(w.config.all_lanes or info.lane in w.config.lanes for w in self.workers)

    def _track(self, jobs: Iterable[ScheduledJob]) -> None:
        self._tracked.update(job.id for job in jobs)

    async def _after_scheduling(self) -> None:
        if self.eager and self.workers:
            await self.run_due()


class _EagerScheduler(Scheduler):
    """The scheduler of :class:`EagerJobMaster`: tracks jobs and runs them when eager."""

    def __init__(self, app: EagerJobMaster) -> None:
        super().__init__(app)
        self._eager_app = app

    async def once_now(self, handler: Any, data: DataLike = None, **overrides: Any) -> ScheduledJob:
        job = await super().once_now(handler, data, **overrides)
        return await self._ran(job)

    async def once_at(
        self, handler: Any, when: datetime, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        job = await super().once_at(handler, when, data, **overrides)
        return await self._ran(job)

    async def once_after(
        self, handler: Any, delay: Any, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        job = await super().once_after(handler, delay, data, **overrides)
        return await self._ran(job)

    async def bulk_once_now(
        self, handler: Any, data: Iterable[DataLike], **overrides: Any
    ) -> list[ScheduledJob]:
        jobs = await super().bulk_once_now(handler, data, **overrides)
        self._eager_app._track(jobs)
        await self._eager_app._after_scheduling()
        return jobs

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        done = await super().reschedule(job_id, when)
        if done:
            await self._eager_app._after_scheduling()
        return done

    async def retry_now(self, job_id: str) -> bool:
        done = await super().retry_now(job_id)
        if done:
            await self._eager_app._after_scheduling()
        return done

    async def _ran(self, job: ScheduledJob) -> ScheduledJob:
        self._eager_app._track([job])
        await self._eager_app._after_scheduling()
        return job


@contextlib.asynccontextmanager
async def eager(
    handlers: Iterable[object] = (),
    services: Services = None,
    *,
    config: ClusterConfig | None = None,
    **options: Any,
) -> AsyncIterator[EagerJobMaster]:
    """A started :class:`EagerJobMaster` in which scheduling a job runs it at once.

    >>> async def example() -> None:
    ...     async with eager(handlers=[build_report]) as app:
    ...         job = await app.scheduler.once_now(build_report, {"Month": "2024-05"})
    ...         await assert_job_succeeded(app, job.id)

    ``options`` go to :class:`EagerJobMaster` (``skip_backoff``, ``run_delayed``, ...). The
    memory space of the default configuration is forgotten on exit.
    """
    async with _started(handlers, services, config, eager=True, **options) as app:
        yield app


@contextlib.asynccontextmanager
async def manual(
    handlers: Iterable[object] = (),
    services: Services = None,
    *,
    config: ClusterConfig | None = None,
    **options: Any,
) -> AsyncIterator[EagerJobMaster]:
    """A started :class:`EagerJobMaster` whose jobs run only when the test calls
    :func:`drain` — to look at jobs while they wait, cancel them, or run them step by step.

    >>> async def example() -> None:
    ...     async with manual(handlers=[build_report]) as app:
    ...         job = await app.scheduler.once_now(build_report)
    ...         assert await app.scheduler.cancel(job.id)
    ...         await drain(app)
    ...         await assert_job_cancelled(app, job.id)
    """
    async with _started(handlers, services, config, eager=False, **options) as app:
        yield app


@contextlib.asynccontextmanager
async def _started(
    handlers: Iterable[object],
    services: Services,
    config: ClusterConfig | None,
    **options: Any,
) -> AsyncIterator[EagerJobMaster]:
    own_config = config is None
    app = EagerJobMaster(config, handlers=handlers, services=services, **options)
    try:
        async with app:
            yield app
    finally:
        if own_config and app.config.master is not None:
            reset_memory_space(app.config.master.target)


async def drain(
    app: JobMaster, *, skip_backoff: bool | None = None, run_delayed: bool | None = None
) -> int:
    """Run the app's workers until no job is due, then sync; returns the attempts run.

    For an :class:`EagerJobMaster` this is :meth:`EagerJobMaster.run_due` (retries skip their
    backoff by default; delayed jobs run only with ``run_delayed=True`` in manual mode). For
    a plain started :class:`~jobmaster.JobMaster` it calls each worker's ``run_once`` until a
    round runs nothing (``skip_backoff`` and ``run_delayed`` are not supported there).
    """
    if isinstance(app, EagerJobMaster):
        return await app.run_due(skip_backoff=skip_backoff, run_delayed=run_delayed)
    if skip_backoff or run_delayed:
        raise ValueError(
            "skip_backoff and run_delayed need an EagerJobMaster (jobmaster.testing.eager)"
        )
    total = 0
    while (ran := sum([await worker.run_once() for worker in app.workers])) > 0:
        total += ran
    await app.sync_now()
    return total


# -- assertions -------------------------------------------------------------------------------
def _job_id(job: str | ScheduledJob) -> str:
    return job if isinstance(job, str) else job.id


def _describe(info: JobInfo) -> str:
    lines = [
        f"job {info.id} ({info.definition_id}) is {info.status.value}, "
        f"attempt {info.attempt_count} of {info.max_retries + 1}"
    ]
    if info.last_error:
        lines.append(f"  last error: {info.last_error}")
    for attempt in info.attempts:
        lines.append(
            f"  attempt #{attempt.number}: {attempt.outcome.value}"
            + (f" - {attempt.error}" if attempt.error else "")
        )
    return "\n".join(lines)


async def assert_job_status(app: JobMaster, job: str | ScheduledJob, status: JobStatus) -> JobInfo:
    """Sync the history, then assert the job exists and is in ``status``; returns its info.

    >>> async def example(app: JobMaster, job_id: str) -> None:
    ...     info = await assert_job_status(app, job_id, JobStatus.QUEUED)
    """
    job_id = _job_id(job)
    await app.sync_now()
    info = await app.get_job(job_id)
    if info is None:
        raise AssertionError(f"job {job_id} not found")
    if info.status is not status:
        raise AssertionError(f"expected {status.value}, but {_describe(info)}")
    return info


async def assert_job_succeeded(app: JobMaster, job: str | ScheduledJob) -> JobInfo:
    """Assert the job succeeded; the message shows its attempts and errors otherwise.

    >>> async def example(app: JobMaster, job_id: str) -> None:
    ...     info = await assert_job_succeeded(app, job_id)
    ...     assert len(info.attempts) == 1
    """
    return await assert_job_status(app, job, JobStatus.SUCCEEDED)


async def assert_job_failed(
    app: JobMaster, job: str | ScheduledJob, *, error_contains: str | None = None
) -> JobInfo:
    """Assert the job failed for good, and that its last error contains ``error_contains``.

    >>> async def example(app: JobMaster, job_id: str) -> None:
    ...     await assert_job_failed(app, job_id, error_contains="ValueError: bad user id")
    """
    info = await assert_job_status(app, job, JobStatus.FAILED)
    if error_contains is not None and error_contains not in (info.last_error or ""):
        raise AssertionError(
            f"expected the last error to contain {error_contains!r}, but {_describe(info)}"
        )
    return info


async def assert_job_cancelled(app: JobMaster, job: str | ScheduledJob) -> JobInfo:
    """Assert the job was cancelled."""
    return await assert_job_status(app, job, JobStatus.CANCELLED)


# -- recording --------------------------------------------------------------------------------
class JobRecorder:
    """Records the jobs handlers ran, to assert on them. Thread-safe (sync handlers too).

    Use it as a service of your own handlers, or let it build recording handlers::

        recorder = JobRecorder()
        flaky = recorder.handler("flaky", fail_times=2, max_retries=3)
        async with eager(handlers=[flaky]) as app:
            job = await app.scheduler.once_now(flaky, {"n": 1})
        assert [call.attempt for call in recorder.for_job(job.id)] == [1, 2, 3]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[JobContext] = []

    def record(self, job: JobContext) -> None:
        """Record that a handler ran ``job`` (call it first thing in the handler)."""
        with self._lock:
            self._calls.append(job)

    @property
    def calls(self) -> list[JobContext]:
        """Every recorded job context, in the order the handlers started."""
        with self._lock:
            return list(self._calls)

    @property
    def job_ids(self) -> list[str]:
        """The ids of the recorded jobs, in order (a retried job appears once per attempt)."""
        return [call.id for call in self.calls]

    def for_job(self, job: str | ScheduledJob) -> list[JobContext]:
        """The recorded attempts of one job."""
        job_id = _job_id(job)
        return [call for call in self.calls if call.id == job_id]

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def handler(
        self,
        definition_id: str,
        *,
        fail_times: int = 0,
        error: type[Exception] = RuntimeError,
        **options: Any,
    ) -> HandlerFunc:
        """An async function handler that records its jobs and raises ``error`` on its first
        ``fail_times`` attempts of each job. ``options`` are :func:`~jobmaster.job_handler`
        options (``max_retries``, ``lane``, ...)."""

        async def recording_handler(job: JobContext) -> None:
            self.record(job)
            if job.attempt <= fail_times:
                raise error(f"{definition_id}: planned failure of attempt {job.attempt}")

        recording_handler.__qualname__ = f"JobRecorder.handler[{definition_id}]"
        decorated: HandlerFunc = job_handler(definition_id=definition_id, **options)(
            recording_handler
        )
        return decorated
