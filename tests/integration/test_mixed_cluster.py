"""A mixed cluster: MariaDB master, one PostgreSQL agent and one MariaDB agent, workers on both
(real worker processes): every job runs exactly once and the whole history is on the master."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

import jobmaster as jm

from .conftest import REPO_ROOT, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

APP = "tests.integration.apps.mixed:app"
JOBS = 2000


def mixed_env(mysql: str, pg: str, out: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:6]
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1",
            "JM_MIX_MYSQL": mysql, "JM_MIX_PG": pg, "JM_MIX_RUN": run, "JM_IT_OUT": str(out)}


def spawn_worker(env: dict[str, str], agent: str) -> subprocess.Popen[bytes]:
    """A real `jobmaster worker` process serving ``agent``."""
    return subprocess.Popen([sys.executable, "-m", "jobmaster", "worker", APP], cwd=REPO_ROOT,
                            env={**env, "JM_MIX_WORKER": agent}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def test_mixed_cluster_runs_every_job_once_with_history_on_the_master(
        mysql_database: str, pg_database: str, tmp_path: Path) -> None:
    from .apps import mixed

    out = tmp_path / "executions"
    out.mkdir()
    env = mixed_env(mysql_database, pg_database, out)
    producer = mixed.build(env, worker_on=None)
    await producer.start()  # creates every schema before the workers open them
    workers = [spawn_worker(env, agent) for agent in ("pg-1", "my-1")]
    try:
        assert producer.master is not None
        await wait_until(lambda: _live_workers(producer), 30, "both workers registered")
        receipts = [await producer.scheduler.once_now(mixed.record, {"n": n})
                    for n in range(JOBS)]
        ids = {r.id for r in receipts}

        def executed() -> Counter[str]:
            lines = [line.split() for f in out.glob("*.log") for line in f.read_text().splitlines()]
            return Counter(parts[1] for parts in lines if parts and parts[0] == "done")

        await wait_until(lambda: len(executed()) == JOBS, 120, f"{JOBS} jobs executed")
        runs = executed()
        assert set(runs) == ids and max(runs.values()) == 1
        for process in workers:
            process.terminate()
        assert [p.wait(30) for p in workers] == [0, 0]
        await producer.sync_now()
        page = await producer.list_jobs(status=jm.JobStatus.SUCCEEDED, limit=1000)
        agents: Counter[str | None] = Counter()
        cursor = page.next_cursor
        seen = [j for j in page.items]
        while cursor is not None:
            page = await producer.list_jobs(status=jm.JobStatus.SUCCEEDED, limit=1000,
                                            cursor=cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
        agents.update(j.agent for j in seen)
        assert {j.id for j in seen} == ids
        assert set(agents) == {"pg-1", "my-1"}, agents
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
        await producer.stop()


async def _live_workers(app: jm.JobMaster) -> bool:
    assert app.master is not None
    return len([w for w in await app.master.list_workers() if w.status == "active"]) >= 2



