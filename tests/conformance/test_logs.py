"""The master's log store: write in batches, search by level, logger prefix, time and text."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

import jobmaster as jm
from jobmaster.model import LogEntry, LogQuery

from .conftest import Stores


def entry(at: datetime, level: int, logger: str, message: str) -> LogEntry:
    return LogEntry(at, level, logger, message, "host-a", 42)


async def test_logs_are_stored_and_searched(stores: Stores) -> None:
    if not stores.master.capabilities.log_store:
        pytest.skip(f"the {stores.kind} master cannot store logs yet")
    now = datetime.now(UTC).replace(microsecond=0)
    await stores.master.write_logs([
        entry(now - timedelta(minutes=3), logging.INFO, "jobmaster.worker", "claimed 5 jobs"),
        entry(now - timedelta(minutes=2), logging.WARNING, "jobmaster.syncer", "lag 12 s"),
        entry(now - timedelta(minutes=1), logging.ERROR, "jobmaster.worker", "job 7 lost 100%_"),
    ])
    found = await stores.master.list_logs(LogQuery())
    assert [e.message for e in found] == ["job 7 lost 100%_", "lag 12 s", "claimed 5 jobs"]
    assert found[0].host == "host-a" and found[0].pid == 42 and found[0].at == now - \
        timedelta(minutes=1)
    warnings = await stores.master.list_logs(LogQuery(min_level=logging.WARNING))
    assert [e.logger for e in warnings] == ["jobmaster.worker", "jobmaster.syncer"]
    workers = await stores.master.list_logs(LogQuery(logger_prefix="jobmaster.work"))
    assert len(workers) == 2
    assert await stores.master.list_logs(LogQuery(logger_prefix="jobmaster.work%")) == []
    assert [e.message for e in await stores.master.list_logs(LogQuery(text="100%_"))] == [
        "job 7 lost 100%_"]
    assert [e.message for e in await stores.master.list_logs(LogQuery(text="LAG"))] == [
        "lag 12 s"]
    window = LogQuery(since=now - timedelta(minutes=2), until=now - timedelta(minutes=1))
    assert [e.message for e in await stores.master.list_logs(window)] == ["lag 12 s"]
    assert len(await stores.master.list_logs(LogQuery(limit=1))) == 1


@jm.job_handler(definition_id="tests.logs-noop")
async def noop(job: jm.JobContext) -> None:
    logging.getLogger("jobmaster.tests").warning("handled %s with password=hunter2", job.id)


async def test_an_app_ships_its_logs_to_the_master(stores: Stores) -> None:
    if stores.kind != "memory":
        pytest.skip("one backend is enough: the shipping is backend-independent")
    config = jm.ClusterConfig.standalone("logs").use_memory(stores.spec.target).add_worker()
    app = jm.JobMaster(config, handlers=[noop])
    async with app:
        job = await app.scheduler.once_now(noop)
        assert app.log_shipper is not None
        for _ in range(200):  # the worker runs it in the background: poll for the end
            info = await app.get_job(job.id)
            if info is not None and info.status.is_final:
                break
            await asyncio.sleep(0.01)
        await app.log_shipper.flush()
        found = await stores.master.list_logs(LogQuery(logger_prefix="jobmaster.tests"))
    assert [e.message for e in found] == [f"handled {job.id} with password=***"]
