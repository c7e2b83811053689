"""Recurring schedules in real time on SQLite and PostgreSQL: three applications, each with
its own planner and worker, run a 1-second schedule; every slot runs exactly once."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobmaster as jm

RUNS: list[tuple[str, datetime | None, datetime]] = []


@jm.job_handler(definition_id="realtime.tick")
async def tick(job: jm.JobContext) -> None:
    RUNS.append((job.id, job.scheduled_at, datetime.now(UTC)))


def config(kind: str, target: str, prefix: str) -> jm.ClusterConfig:
    cluster = jm.ClusterConfig.standalone("realtime", planner_interval=timedelta(milliseconds=200))
    if kind == "sqlite":
        cluster.use_sqlite(target, table_prefix=prefix)
    else:
        cluster.use_postgres(target, table_prefix=prefix)
    return cluster.add_worker(concurrency=4)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_three_apps_run_each_slot_once(kind: str, tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    target = str(tmp_path / "jobs.db") if kind == "sqlite" else request.getfixturevalue(
        "pg_database")
    prefix = f"r{uuid.uuid4().hex[:8]}_"
    apps = [jm.JobMaster(config(kind, target, prefix), handlers=[tick]) for _ in range(3)]
    RUNS.clear()
    for app in apps:
        await app.start()
    try:
        info = await apps[0].scheduler.recurring(tick, "every 1 seconds")
        await asyncio.sleep(4.5)
        assert await apps[1].scheduler.cancel_recurring(info.id)
        await asyncio.sleep(1.2)
        for app in apps:
            await app.sync_now()
        slots = await apps[2].master.list_slots(info.id)  # type: ignore[union-attr]
    finally:
        for app in apps:
            await app.stop()
    counts = Counter(scheduled for _, scheduled, _ in RUNS if scheduled is not None)
    assert len(counts) >= 4, RUNS
    assert set(counts.values()) == {1}, counts  # every slot ran exactly once
    assert len({job_id for job_id, _, _ in RUNS}) == len(RUNS)
    ran = sorted(counts)
    assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(ran))
    assert {s.slot_at for s in slots} >= set(ran)
