"""SQL Server master store: job history, attempts and topology (MERGE upserts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...abc import MasterStore
from ...config import BackendSpec
from ...model import JobEvent, JobInfo, WorkerRecord
from .._common import DEAD_AFTER, info_from_event
from .._sqlcommon.rows import attempt_from, event_from, worker_from, worker_params
from .._sqlcommon.views import SqlMasterViews
from .codec import DOCUMENTS, newest, to_json
from .connection import SQLSERVER_CAPABILITIES, SqlServerStore, run


class SqlServerMaster(SqlServerStore, SqlMasterViews, MasterStore):
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
        jobs_doc = to_json(DOCUMENTS.event(e) for e in jobs)
        attempts_doc = to_json(DOCUMENTS.attempt(e, e.attempt) for e in attempts if e.attempt)

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

    async def register_worker(self, worker: WorkerRecord) -> None:
        await self.rows("register_worker", worker_params(worker))

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        if not in_flight:
            return
        await self.rows("heartbeat_workers", {"workers": to_json(
            {"id": worker_id, "in_flight": count} for worker_id, count in in_flight.items())})

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self.rows("set_worker_status", {"id": worker_id, "status": status})

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self.rows("list_workers", {"dead_s": int(DEAD_AFTER.total_seconds())})
        return [worker_from(row) for row in rows]
