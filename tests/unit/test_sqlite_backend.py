"""SQLite specifics the conformance suite cannot see: several processes, threads, colocated sync."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobmaster.backends.factory import make_agent
from jobmaster.backends.sqlite import SqliteAgent, SqliteMaster
from jobmaster.config import BackendSpec
from jobmaster.errors import BackendUnavailableError, SchemaError
from jobmaster.model import AttemptOutcome, AttemptResult, JobStatus, LeaseRef, NewJob

LEASE = timedelta(seconds=30)

_CLAIMER = """
import asyncio, json, sys
from datetime import timedelta
from jobmaster.backends.sqlite import SqliteAgent, SqliteMaster

async def main(path):
    agent, master = SqliteAgent(path), SqliteMaster(path)
    await agent.open(); await master.open()
    await agent.migrate(); await master.migrate()
    got, idle = [], 0
    while idle < 10:
        batch = await agent.claim("w", lanes=None, definitions=["d"], limit=25,
                                  lease=timedelta(seconds=30))
        idle = 0 if batch else idle + 1
        got += [job.id for job in batch]
        await asyncio.sleep(0 if batch else 0.02)
    await agent.close(); await master.close()
    print(json.dumps(got))

asyncio.run(main(sys.argv[1]))
"""


def new_job(**kwargs: object) -> NewJob:
    fields: dict[str, object] = dict(
        id=str(uuid.uuid4()), definition_id="d", lane="default", priority=3, scheduled_at=None,
        msg_data="{}", metadata="{}", max_retries=3, timeout_ms=1000, backoff="{}")
    fields.update(kwargs)
    return NewJob(**fields)  # type: ignore[arg-type]


async def _opened(path: Path, *, colocated_master: bool = False,
                  ) -> tuple[SqliteAgent, SqliteMaster]:
    agent = SqliteAgent(str(path), colocated_master=colocated_master)
    master = SqliteMaster(str(path))
    for store in (agent, master):
        await store.open()
        await store.migrate()
    return agent, master


async def test_processes_migrate_and_claim_without_sharing(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    agent, master = await _opened(path)
    jobs = [new_job() for _ in range(600)]
    await agent.enqueue(jobs)
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", _CLAIMER, str(path),
                                                  stdout=subprocess.PIPE) for _ in range(4)]
    outputs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    await agent.close()
    await master.close()
    ids = [job_id for out, _ in outputs for job_id in json.loads(out)]
    assert len(ids) == len(set(ids)) == 600


async def test_open_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="does not exist"):
        await SqliteAgent(str(tmp_path / "missing" / "jobs.db")).open()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 200)
    with pytest.raises(BackendUnavailableError, match=str(garbage)):
        await SqliteMaster(str(garbage)).open()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    agent, master = await _opened(tmp_path / "jobs.db")
    with sqlite3.connect(tmp_path / "jobs.db") as conn:
        conn.execute("UPDATE jm_schema_version SET version = 99 WHERE role = 'master'")
    with pytest.raises(SchemaError, match="newer"):
        await master.migrate()
    assert (await agent.schema_state()).up_to_date
    await agent.close()
    await master.close()
    await agent.close()  # idempotent


async def test_lease_instance_on_another_thread_and_loop(tmp_path: Path) -> None:
    spec = BackendSpec("sqlite", str(tmp_path / "jobs.db"))
    agent, master = await _opened(tmp_path / "jobs.db")
    await agent.enqueue([new_job()])
    [claimed] = await agent.claim("w", lanes=None, definitions=["d"], limit=1, lease=LEASE)

    async def keep() -> frozenset[str]:
        leases = make_agent(spec, "standalone", role="leases")
        await leases.open()
        try:
            ext = await leases.extend_leases("w", [LeaseRef(claimed.id, claimed.lease_token)],
                                             LEASE)
            return ext.held
        finally:
            await leases.close()

    held: list[frozenset[str]] = []
    thread = threading.Thread(target=lambda: held.append(asyncio.run(keep())))
    thread.start()
    await asyncio.to_thread(thread.join)
    assert held == [frozenset({claimed.id})]
    await agent.close()
    await master.close()


async def test_colocated_sync_matches_event_by_event_sync(tmp_path: Path) -> None:
    agent, master = await _opened(tmp_path / "jobs.db", colocated_master=True)
    assert agent.capabilities.colocated_sync
    job = new_job(max_retries=1, idempotency_key="k")
    await agent.enqueue([job, new_job(priority=1)])
    now = datetime.now(UTC)
    for attempt, retry in ((1, timedelta(0)), (2, None)):
        [claimed] = await agent.claim("w", lanes=None, definitions=["d"], limit=1, lease=LEASE)
        assert claimed.attempt == attempt
        await agent.finish([AttemptResult(job.id, claimed.lease_token, AttemptOutcome.FAILED,
                                          "w", now, now, error=f"boom {attempt}",
                                          retry_delay=retry)])
    # Events: the retried attempt 1, then the final failure with attempt 2 (enqueue and claim
    # need none: in-flight jobs are read from the agent).
    assert await agent.sync_colocated(1) == 1
    assert await master.get_job(job.id) is None
    assert await agent.sync_colocated(100) == 1
    assert await agent.sync_colocated(100) == 0
    info = await master.get_job(job.id)
    assert info is not None and info.status is JobStatus.FAILED
    assert [(a.number, a.error) for a in info.attempts] == [(1, "boom 1"), (2, "boom 2")]
    assert await master.find_idempotent("k") == job.id
    await agent.close()
    await master.close()
