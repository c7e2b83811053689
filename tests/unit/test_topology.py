"""Topology: drain requests stop a worker gracefully; the syncer measures its lag."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import jobmaster as jm
from jobmaster.backends.memory import reset_memory_space

done: list[str] = []


@jm.job_handler(definition_id="tests.topology-job")
async def job(ctx: jm.JobContext) -> None:
    done.append(ctx.id)


async def test_drain_request_stops_the_worker_gracefully() -> None:
    name = f"drain-{uuid.uuid4().hex}"
    config = jm.ClusterConfig.standalone("drain").use_memory(name).add_worker()
    app = jm.JobMaster(config, handlers=[job])
    try:
        async with app:
            assert app.master is not None and app.topology is not None
            worker = app.workers[0]
            await app.master.set_worker_status(worker.worker_id, "draining")
            await app.topology.run_once()
            await asyncio.wait_for(asyncio.gather(*app._drains), timeout=10)
            [record] = await app.master.list_workers()
            assert record.status == "stopped"
            # A stopped worker claims nothing more.
            queued = await app.scheduler.once_now(job)
            await app.topology.run_once()
            info = await app.get_job(queued.id)
            assert info is not None and info.status is jm.JobStatus.QUEUED
    finally:
        reset_memory_space(name)


async def test_syncer_reports_the_lag_of_its_batches() -> None:
    master_space, agent_space = f"m-{uuid.uuid4().hex}", f"a-{uuid.uuid4().hex}"
    config = jm.ClusterConfig("lag").use_memory_for_master(master_space)
    config.add_agent_connection("a1").use_memory_for_agent(agent_space)
    config.add_worker(agent="a1", lanes=["*"])
    config.with_options(sync_interval=timedelta(hours=1))  # synced by hand below
    app = jm.JobMaster(config, handlers=[job])
    try:
        async with app:
            receipt = await app.scheduler.once_now(job)
            deadline = asyncio.get_running_loop().time() + 10
            while receipt.id not in done:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            await app.workers[0].stop()
            assert app.syncer is not None
            assert await app.syncer.run_once() == 1
            lag = app.sync_lag()["a1"]
            assert 0.0 <= lag < 5.0
            assert list(app.syncer.recent_lags) == [lag]
            assert await app.syncer.run_once() == 0
            assert app.sync_lag()["a1"] == 0.0
    finally:
        reset_memory_space(master_space)
        reset_memory_space(agent_space)
