"""SQLite master store: job history with every attempt, and the worker topology."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ...abc import MasterStore
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
from .codec import attempt_from, dt, event_from, event_params, filtered_query, now_ts, ts
from .connection import SqliteStore
from .held import SqliteHeld
from .schedules import SqliteSchedules

Conn = sqlite3.Connection

_FINAL = frozenset(status.value for status in JobStatus if status.is_final)


class SqliteMaster(SqliteStore, SqliteSchedules, SqliteHeld, MasterStore):
    """Master store on the SQLite file ``path`` (tables ``{prefix}job``, ``{prefix}attempt``
    and ``{prefix}worker``)."""

    def __init__(self, path: str, *, prefix: str = "jm_") -> None:
        super().__init__(path, prefix, "master")

    # -- history ----------------------------------------------------------------------------
    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        if not events:
            return
        params = [event_params(event) for event in events]
        await self._db.write(lambda conn: self._apply(conn, params))

    def _apply(self, conn: Conn, params: list[dict[str, Any]]) -> None:
        conn.executemany(self._q["apply_jobs"], [p for p in params if p["status"] in _FINAL])
        conn.executemany(self._q["apply_attempts"],
                         [p for p in params if p["a_number"] is not None])

    async def get_job(self, job_id: str) -> JobInfo | None:
        def read(conn: Conn) -> list[JobInfo]:
            found = self._infos(conn, conn.execute(self._q["get_job"], (job_id,)))
            return found or self.held_info(conn, job_id)

        infos = await self._db.read(read)
        return infos[0] if infos else None

    def _infos(self, conn: Conn, rows: Any) -> list[JobInfo]:
        found = [dict(row) for row in rows]
        if not found:
            return []
        ids = json.dumps([row["job_id"] for row in found])
        attempts: dict[str, list[Any]] = {row["job_id"]: [] for row in found}
        for row in conn.execute(self._q["get_attempts"], (ids,)):
            attempts[row["job_id"]].append(attempt_from(row))
        return [info_from_event(event_from(row, with_attempt=False), attempts[row["job_id"]])
                for row in found]

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        rows = await self._db.read(lambda conn: conn.execute(
            self._q["get_attempts"], (json.dumps([job_id]),)).fetchall())
        return [a for a in (attempt_from(row) for row in rows) if a is not None]

    async def list_jobs(self, query: JobQuery) -> JobPage:
        sql, params = filtered_query(self._q["list_jobs"], query)

        def read(conn: Conn) -> list[JobInfo]:
            rows = [] if query.status is JobStatus.SCHEDULED else self._infos(
                conn, conn.execute(sql, params))
            if query.status in (None, JobStatus.SCHEDULED):  # held jobs are SCHEDULED
                rows.extend(self.held_infos(conn, query))
                rows.sort(key=lambda info: (info.created_at, info.id), reverse=True)
            return rows

        rows = await self._db.read(read)
        return page_of(rows[: query.limit + 1], query.limit)

    async def find_idempotent(self, key: str) -> str | None:
        row = await self._db.read(
            lambda conn: conn.execute(self._q["find_held_key"], (key, key)).fetchone())
        return None if row is None else str(row[0])

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        cutoff = now_ts() - older_than.total_seconds()

        def purge(conn: Conn) -> int:
            ids = json.dumps([row[0] for row in conn.execute(
                self._q["purge_old_ids"], (cutoff, limit))])
            conn.execute(self._q["purge_logs"], (cutoff, limit))
            conn.execute(self._q["purge_attempts"], (ids,))
            return int(conn.execute(self._q["purge_jobs"], (ids,)).rowcount)

        return await self._db.write(purge)

    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        now = now_ts()
        rows = [(a.name, a.kind, a.location, now, now) for a in agents]
        await self._db.write(lambda conn: conn.executemany(self._q["register_agents"], rows))

    async def list_agents(self) -> list[AgentRecord]:
        rows = await self._db.read(lambda conn: conn.execute(self._q["list_agents"]).fetchall())
        return [AgentRecord(r[0], r[1], r[2], dt(r[3]), dt(r[4])) for r in rows]

    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        rows = [(ts(e.at), e.level, e.logger, e.message, e.host, e.pid) for e in entries]
        await self._db.write(lambda conn: conn.executemany(self._q["write_logs"], rows))

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        since = ts(query.since) if query.since else None
        until = ts(query.until) if query.until else None
        params = (query.min_level, query.logger_prefix, query.logger_prefix,
                  query.logger_prefix, since, since, until, until, query.text, query.text,
                  query.limit)
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["list_logs"], params).fetchall())
        return [LogEntry(dt(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # -- topology ---------------------------------------------------------------------------
    async def register_worker(self, worker: WorkerRecord) -> None:
        params = {
            "id": worker.id, "name": worker.name, "host": worker.host, "pid": worker.pid,
            "agent": worker.agent, "lanes": json.dumps(list(worker.lanes)),
            "concurrency": worker.concurrency, "started_at": ts(worker.started_at),
            "status": worker.status, "in_flight": worker.in_flight,
        }
        await self._db.write(lambda conn: conn.execute(
            self._q["register_worker"], {**params, "last_heartbeat": now_ts()}))

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        if not in_flight:
            return
        await self._db.write(lambda conn: conn.executemany(
            self._q["heartbeat_workers"],
            [(now_ts(), count, worker_id) for worker_id, count in in_flight.items()]))

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self._db.write(lambda conn: conn.execute(
            self._q["set_worker_status"], (status, worker_id)))

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["list_workers"]).fetchall())
        dead_before = now_ts() - DEAD_AFTER.total_seconds()
        return [
            WorkerRecord(
                id=row["id"], name=row["name"], host=row["host"], pid=row["pid"],
                agent=row["agent"], lanes=tuple(json.loads(row["lanes"])),
                concurrency=row["concurrency"], started_at=dt(row["started_at"]),
                last_heartbeat=dt(row["last_heartbeat"]),
                status="dead" if row["status"] == "active" and row["last_heartbeat"] < dead_before
                else row["status"],
                in_flight=row["in_flight"],
            )
            for row in rows
        ]
