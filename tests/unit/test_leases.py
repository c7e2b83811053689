"""Lease keeping: a blocked event loop cannot starve renewals; lost renewals fence the job."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

import jobmaster as jm
from jobmaster.abc import AgentTransport, LeaseExtension
from jobmaster.backends.factory import make_agent
from jobmaster.backends.memory import MemoryAgent, reset_memory_space
from jobmaster.config import BackendSpec, WorkerConfig
from jobmaster.handlers import HandlerRegistry
from jobmaster.model import LeaseRef
from jobmaster.runtime.leases import LeaseBook
from jobmaster.runtime.worker import Worker

started = threading.Event()
finished: list[str] = []


@jm.job_handler(definition_id="tests.blocks-the-loop", max_retries=3, timeout=30)
async def blocks_the_loop(job: jm.JobContext) -> None:
    """A badly written async handler: it blocks the event loop for 2.5 s (3 leases)."""
    started.set()
    time.sleep(2.5)  # noqa: ASYNC251 - the point of the test
    finished.append(job.id)


async def wait_until(predicate: Callable[[], bool], within: float = 10,
                     interval: float = 0.05) -> None:
    """Poll a condition (the state lives in another thread or process: no event to await)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(interval)


def test_lease_book_fences_only_unrenewed_leases() -> None:
    book = LeaseBook(timedelta(seconds=10))
    book.add("a", "t1", requested_at=100.0)
    book.add("b", "t2", requested_at=100.0)
    book.renewed(frozenset({"a"}), requested_at=105.0)
    fence_b = 100.0 + 10 - book.margin
    assert book.due_for_fencing(fence_b - 0.01) == []
    assert book.due_for_fencing(fence_b) == ["b"]
    assert book.due_for_fencing(105.0 + 10 - book.margin) == ["a", "b"]
    assert book.margin < 10  # the job stops before the lease can expire


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_blocked_event_loop_cannot_starve_lease_renewal(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        config = jm.ClusterConfig.standalone("leases").use_sqlite(str(tmp_path / "l.db"))
    else:
        dsn = request.getfixturevalue("pg_database")
        config = jm.ClusterConfig.standalone("leases").use_postgres(
            dsn, table_prefix=f"l{uuid.uuid4().hex[:6]}_")
    config.add_worker(lease=timedelta(seconds=1), concurrency=1)
    config.with_options(rescue_interval=timedelta(milliseconds=100))
    started.clear()
    finished.clear()
    app = jm.JobMaster(config, handlers=[blocks_the_loop])
    async with app:
        job = await app.scheduler.once_now(blocks_the_loop)
        # A rescuer in another thread with its own connection keeps looking for expired
        # leases while the worker's loop is blocked.
        spec = next(iter(config.agents.values())).backend
        assert spec is not None
        rescued = await asyncio.to_thread(_rescue_while_blocked, spec)
        await wait_until(lambda: job.id in finished)
        await app.workers[0].stop()
        await app.sync_now()
        info = await app.get_job(job.id)
    assert rescued == 0
    assert info is not None and info.status is jm.JobStatus.SUCCEEDED
    assert [a.outcome for a in info.attempts] == [jm.AttemptOutcome.SUCCEEDED]


def _rescue_while_blocked(spec: BackendSpec) -> int:
    async def main() -> int:
        agent = make_agent(spec, "standalone")
        await agent.open()
        try:
            assert started.wait(10)
            rescued = 0
            deadline = time.monotonic() + 2.3
            while time.monotonic() < deadline:
                result = await agent.rescue_expired(limit=10, max_attempts_reason="lost")
                rescued += result.requeued + result.failed
                await asyncio.sleep(0.05)
            return rescued
        finally:
            await agent.close()

    return asyncio.run(main())


class PartitionedAgent(MemoryAgent):
    """A memory agent whose lease renewals fail, as during a network partition."""

    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        raise ConnectionError("partitioned")


@jm.job_handler(definition_id="tests.long-running", max_retries=1, timeout=60)
async def long_running(job: jm.JobContext) -> None:
    await asyncio.sleep(30)


async def test_worker_that_cannot_renew_stops_the_job_before_its_lease_expires() -> None:
    name = f"fence-{uuid.uuid4().hex}"
    try:
        agent: AgentTransport = PartitionedAgent(name)
        config = jm.ClusterConfig.standalone("fence").use_memory(name)
        app = jm.JobMaster(config, handlers=[long_running])
        await app.start(run_workers=False)
        try:
            job = await app.scheduler.once_now(long_running)
            lease = timedelta(seconds=1)
            worker = Worker(worker_id="w-partitioned", cluster_id="fence",
                            config=WorkerConfig(lease=lease, concurrency=1),
                            transport=agent, registry=HandlerRegistry([long_running]))
            await worker.start()
            began = time.monotonic()
            await wait_until(lambda: worker.stats.lost > 0, interval=0.02)
            fenced_after = time.monotonic() - began
            assert worker.in_flight == 0  # the handler was stopped
            live = await app.get_job(job.id)
            assert live is not None and live.status is jm.JobStatus.PROCESSING
            # Fenced strictly before the lease could expire: nobody else can have it yet.
            assert fenced_after < lease.total_seconds()
            await worker.stop()
            assert worker.stats.succeeded == worker.stats.failed == 0
        finally:
            await app.stop()
    finally:
        reset_memory_space(name)
