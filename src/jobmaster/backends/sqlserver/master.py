"""SQL Server master store: job history, attempts and topology (MERGE upserts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...abc import MasterStore
from ...config import BackendSpec
from ...model import Attempt, JobEvent, JobInfo, JobPage, JobQuery, WorkerRecord
from .._common import DEAD_AFTER, info_from_event
from .codec import (
    attempt_from,
    attempt_json,
    aware,
    db_time,
    event_from,
    event_json,
    newest,
    page,
    query_params,
    to_json,
)
from .connection import SQLSERVER_CAPABILITIES, SqlServerStore, run


class SqlServerMaster(SqlServerStore, MasterStore):
    """Master store on SQL Server (tables ``{prefix}job``, ``{prefix}attempt``,
    ``{prefix}worker``)."""

    role = "master"
    capabilities = SQLSERVER_CAPABILITIES

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, pool_role="master")

    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        if not events:
            return
        jobs, attempts = newest(events)
        jobs_sql, attempts_sql = self.sql("apply_jobs"), self.sql("apply_attempts")
        jobs_doc = to_json(event_json(e) for e in jobs)
        attempts_doc = to_json(attempt_json(e, e.attempt) for e in attempts if e.attempt)

        def work(cur: Any) -> None:
            if jobs:
                run(cur, jobs_sql, {"jobs": jobs_doc})
            if attempts:
                run(cur, attempts_sql, {"attempts": attempts_doc})

        await self.transaction(work)

    async def get_job(self, job_id: str) -> JobInfo | None:
        job_sql, attempts_sql = self.sql("get_job"), self.sql("get_attempts")

        def work(cur: Any) -> JobInfo | None:
            rows = run(cur, job_sql, {"id": job_id})
            if not rows:
                return None
            attempts = [attempt_from(row) for row in run(cur, attempts_sql, {"id": job_id})]
            return info_from_event(event_from(rows[0]), attempts)

        return await self.transaction(work)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        rows = await self.rows("list_jobs", query_params(query))
        attempts: dict[str, list[Attempt]] = {row["id"]: [] for row in rows[: query.limit]}
        if attempts:
            for row in await self.rows("list_attempts", {"ids": json.dumps(list(attempts))}):
                found = attempt_from(row)
                if found is not None:
                    attempts[row["job_id"]].append(found)
        return page([info_from_event(event_from(row), attempts.get(row["id"], []))
                     for row in rows], query.limit)

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        rows = await self.rows("get_attempts", {"id": job_id})
        return [a for a in (attempt_from(row) for row in rows) if a is not None]

    async def find_idempotent(self, key: str) -> str | None:
        rows = await self.rows("find_idempotent", {"key": key})
        return str(rows[0]["id"]) if rows else None

    async def register_worker(self, worker: WorkerRecord) -> None:
        await self.rows("register_worker", {
            "id": worker.id, "name": worker.name, "host": worker.host, "pid": worker.pid,
            "agent": worker.agent, "lanes": json.dumps(list(worker.lanes)),
            "concurrency": worker.concurrency, "started_at": db_time(worker.started_at),
            "status": worker.status,
        })

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        if not in_flight:
            return
        await self.rows("heartbeat_workers", {"workers": to_json(
            {"id": worker_id, "in_flight": count} for worker_id, count in in_flight.items())})

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self.rows("set_worker_status", {"id": worker_id, "status": status})

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self.rows("list_workers", {"dead_s": int(DEAD_AFTER.total_seconds())})
        return [WorkerRecord(
            id=r["id"], name=r["name"], host=r["host"], pid=r["pid"], agent=r["agent"],
            lanes=tuple(json.loads(r["lanes"])), concurrency=r["concurrency"],
            started_at=aware(r["started_at"]), last_heartbeat=aware(r["last_heartbeat"]),
            status=r["status"], in_flight=r["in_flight"]) for r in rows]
