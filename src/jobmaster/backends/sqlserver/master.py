"""SQL Server master store: job history, attempts, topology, held jobs, schedules, logs and the
agent registry (MERGE upserts; held jobs in :mod:`.held`, schedules in :mod:`.schedules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ...abc import MasterStore
from ...config import BackendSpec
from ...model import (
    AgentRecord,
    Attempt,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    LogEntry,
    LogQuery,
    WorkerRecord,
)
from .._common import DEAD_AFTER, info_from_event, page_of
from .._sqlcommon.rows import (
    attempt_from,
    aware,
    db_time,
    event_from,
    opt_aware,
    query_params,
    worker_from,
    worker_params,
)
from .._sqlcommon.views import SqlMasterViews
from .codec import DOCUMENTS, like_literal, newest, split_delta, to_json
from .connection import SQLSERVER_CAPABILITIES, Row, run
from .held import SqlServerHeld
from .schedules import SqlServerSchedules


class SqlServerMaster(SqlServerHeld, SqlServerSchedules, SqlMasterViews, MasterStore):
    """Master store on SQL Server (tables ``{prefix}job``, ``{prefix}attempt``,
    ``{prefix}worker``, ``{prefix}held_job``, ``{prefix}schedule``, ``{prefix}schedule_slot``,
    ``{prefix}leader``, ``{prefix}log``, ``{prefix}agent``)."""

    role = "master"
    capabilities = SQLSERVER_CAPABILITIES

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, pool_role="master")

    # -- history ----------------------------------------------------------------------------
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
        """A job of the history with its attempts, else a held job (SCHEDULED), else None."""
        job_sql, attempts_sql = self.sql("get_job"), self.sql("get_attempts")
        held_sql = self.sql("get_held")

        def work(cur: Any) -> JobInfo | None:
            rows = run(cur, job_sql, {"id": job_id})
            if not rows:
                held = run(cur, held_sql, {"id": job_id})
                return info_from_event(event_from(held[0]), []) if held else None
            attempts = [attempt_from(row) for row in run(cur, attempts_sql, {"id": job_id})]
            return info_from_event(event_from(rows[0]), attempts)

        return await self.transaction(work)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        """The history and the held jobs (SCHEDULED), merged newest first."""
        history_sql, held_sql = self.sql("list_jobs"), self.sql("list_held")
        attempts_sql = self.sql("list_attempts")
        params = query_params(query)
        held_params = {name: value for name, value in params.items() if name != "status"}

        def work(cur: Any) -> list[JobInfo]:
            rows: list[Row] = []
            if query.status is not JobStatus.SCHEDULED:
                rows.extend(run(cur, history_sql, params))
            if query.status in (None, JobStatus.SCHEDULED):
                rows.extend(run(cur, held_sql, held_params))
                rows.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
            rows = rows[: query.limit + 1]
            attempts: dict[str, list[Attempt]] = {
                row["id"]: [] for row in rows[: query.limit] if row["status"] != "scheduled"}
            if attempts:
                for row in run(cur, attempts_sql, {"ids": self.id_list(attempts)}):
                    attempts[row["job_id"]].append(attempt_from(row))
            return [info_from_event(event_from(row), attempts.get(row["id"], []))
                    for row in rows]

        return page_of(await self.transaction(work), query.limit)

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        if limit <= 0:
            return 0
        older_s, older_us = split_delta(older_than)
        params = {"older_s": older_s, "older_us": older_us, "limit": limit}
        logs_sql, history_sql = self.sql("purge_logs"), self.sql("purge_history")

        def work(cur: Any) -> int:
            run(cur, logs_sql, params)
            rows = run(cur, history_sql, params)
            return int(rows[0]["purged"]) if rows else 0

        return await self.transaction(work)

    # -- agent registry and logs ------------------------------------------------------------
    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        # MERGE refuses a source that names one agent twice: the last record of a name wins.
        latest = {agent.name: agent for agent in agents}
        if latest:
            await self.rows("register_agents", {"agents": to_json(
                {"name": a.name, "kind": a.kind, "location": a.location}
                for _, a in sorted(latest.items()))})

    async def list_agents(self) -> list[AgentRecord]:
        return [AgentRecord(row["name"], row["kind"], row["location"],
                            opt_aware(row["first_seen"]), opt_aware(row["last_seen"]))
                for row in await self.rows("list_agents")]

    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        if entries:
            await self.rows("write_logs", {"entries": to_json(
                {"at": DOCUMENTS.time(e.at), "level": e.level, "logger": e.logger,
                 "message": e.message, "host": e.host, "pid": e.pid} for e in entries)})

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        prefix, text = query.logger_prefix, query.text
        rows = await self.rows("list_logs", {
            "min_level": query.min_level,
            "logger_like": None if prefix is None else like_literal(prefix) + "%",
            "since": db_time(query.since), "until": db_time(query.until),
            "text_like": None if text is None else f"%{like_literal(text.lower())}%",
            "limit": query.limit})
        return [LogEntry(aware(row["at"]), row["level"], row["logger"], row["message"],
                         row["host"], row["pid"]) for row in rows]

    # -- topology ---------------------------------------------------------------------------
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
