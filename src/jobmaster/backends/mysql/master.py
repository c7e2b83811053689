"""MySQL/MariaDB master store: job history and attempts, held jobs, recurring schedules,
topology (workers and agent connections), logs and history retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ...abc import MasterStore
from ...config import BackendSpec
from ...model import (
    AgentRecord,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    LogEntry,
    LogQuery,
    WorkerRecord,
)
from .._common import DEAD_AFTER, info_from_event
from .._sqlcommon.rows import (
    attempt_from,
    aware,
    db_time,
    event_from,
    query_params,
    worker_from,
    worker_params,
)
from .._sqlcommon.views import SqlMasterViews
from .codec import DOCUMENTS, json_batches, micros
from .connection import MYSQL_CAPABILITIES, Cursor, JsonText
from .held import MysqlHeld
from .schedules import MysqlSchedules


class MysqlMaster(MysqlSchedules, MysqlHeld, SqlMasterViews, MasterStore):
    """Master store on MySQL/MariaDB (tables ``{prefix}job``, ``{prefix}attempt``,
    ``{prefix}worker``, ``{prefix}held_job``, ``{prefix}schedule``, ``{prefix}schedule_slot``,
    ``{prefix}leader``, ``{prefix}log`` and ``{prefix}agent``)."""

    role = "master"
    capabilities = MYSQL_CAPABILITIES

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, pool_role="master")

    # -- history ----------------------------------------------------------------------------
    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        if not events:
            return
        # Sorted by job id so that concurrent writers lock rows in one order.
        ordered = sorted(events, key=lambda e: (e.job_id, e.version))
        # The history holds jobs that left their agent; other events carry only an attempt.
        jobs = json_batches(DOCUMENTS.event(e) for e in ordered if e.status.is_final)
        attempts = json_batches(
            DOCUMENTS.attempt(e, e.attempt) for e in ordered if e.attempt is not None)
        await self.transaction(lambda cur: self._apply(cur, jobs, attempts))

    async def _apply(self, cur: Cursor, jobs: list[JsonText], attempts: list[JsonText]) -> None:
        for batch in jobs:
            await cur.execute(self.q["apply_jobs"], {"jobs": batch})
        for batch in attempts:
            await cur.execute(self.q["apply_attempts"], {"attempts": batch})

    async def get_job(self, job_id: str) -> JobInfo | None:
        rows = await self.rows("get_job", {"id": job_id})
        if not rows:
            return await self.held_info(job_id)
        attempts = await self.rows("get_attempts", {"id": job_id})
        return info_from_event(event_from(rows[0]), [attempt_from(row) for row in attempts])

    async def list_jobs(self, query: JobQuery) -> JobPage:
        rows: list[dict[str, Any]] = []
        if query.status is not JobStatus.SCHEDULED:
            rows.extend(await self.rows("list_jobs", query_params(query)))
        if query.status in (None, JobStatus.SCHEDULED):  # held jobs are SCHEDULED
            rows.extend(await self.held_rows(query))
            rows.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
        return await self.job_page(rows[: query.limit + 1], query.limit)

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        if older_than < timedelta(0):
            raise ValueError(f"older_than: must not be negative, got {older_than}")
        if limit <= 0:
            return 0
        params = {"older_us": micros(older_than), "limit": limit}
        await self.execute("purge_logs", params)
        return await self.transaction(lambda cur: self._purge(cur, params))

    async def _purge(self, cur: Cursor, params: dict[str, Any]) -> int:
        ids = tuple(row["id"] for row in await self._rows(cur, "purge_old_ids", params))
        if not ids:
            return 0
        await cur.execute(self.q["purge_attempts"], {"ids": ids})
        deleted: int = await cur.execute(self.q["purge_history"], {"ids": ids})
        return deleted

    # -- logs -------------------------------------------------------------------------------
    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        documents = ({"at": DOCUMENTS.time(e.at), "level": e.level, "logger": e.logger,
                      "message": e.message, "host": e.host, "pid": e.pid} for e in entries)
        for batch in json_batches(documents):
            await self.execute("write_logs", {"entries": batch})

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        rows = await self.rows("list_logs", {
            "min_level": query.min_level, "prefix": query.logger_prefix,
            "since": db_time(query.since), "until": db_time(query.until), "text": query.text,
            "limit": query.limit})
        return [LogEntry(aware(r["at"]), r["level"], r["logger"], r["message"], r["host"],
                         r["pid"]) for r in rows]

    # -- topology ---------------------------------------------------------------------------
    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        documents = ({"name": a.name, "kind": a.kind, "location": a.location} for a in agents)
        for batch in json_batches(documents):
            await self.execute("register_agents", {"agents": batch})

    async def list_agents(self) -> list[AgentRecord]:
        return [AgentRecord(r["name"], r["kind"], r["location"], aware(r["first_seen"]),
                            aware(r["last_seen"])) for r in await self.rows("list_agents")]

    async def register_worker(self, worker: WorkerRecord) -> None:
        await self.execute("register_worker", worker_params(worker))

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        if not in_flight:
            return
        workers = [{"id": worker_id, "in_flight": count} for worker_id, count in in_flight.items()]
        for batch in json_batches(workers):
            await self.execute("heartbeat_workers", {"workers": batch})

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self.execute("set_worker_status", {"id": worker_id, "status": status})

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self.rows("list_workers",
                               {"dead_us": int(DEAD_AFTER.total_seconds() * 1_000_000)})
        return [worker_from(row) for row in rows]
