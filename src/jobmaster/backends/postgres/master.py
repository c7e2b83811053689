"""PostgreSQL master store: job history, attempts and topology."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ...abc import MasterStore, OutboxImport
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
from .._common import (
    DEAD_AFTER,
    OUTBOX_NATS_JSON,
    OUTBOX_POSTGRES_COPY,
    decode_cursor,
    info_from_event,
    is_uuid,
    page_of,
)
from .connection import POSTGRES_CAPABILITIES, SESSION_SETTINGS, PostgresStore
from .held import PostgresHeld
from .rows import attempt_from_row, event_from_row
from .schedules import PostgresSchedules


class PostgresMaster(PostgresStore, PostgresSchedules, PostgresHeld, MasterStore):
    """Master store on PostgreSQL."""

    role = "master"
    capabilities = POSTGRES_CAPABILITIES
    # Job lists use one statement with optional filters: plan it for the filters present.
    session_settings = {**SESSION_SETTINGS, "plan_cache_mode": "force_custom_plan"}

    outbox_import_formats = frozenset({OUTBOX_POSTGRES_COPY, OUTBOX_NATS_JSON})

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, pool_role="master")

    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        jobs, attempts = latest_snapshots(events)
        async with self.pool.acquire() as conn, conn.transaction():
            if jobs:
                await conn.execute(self.q["apply_jobs"], *_job_columns(jobs))
            if attempts:
                await conn.execute(self.q["apply_attempts"], *_attempt_columns(attempts))

    async def import_outbox(self, fmt: str, data: bytes, agent_name: str) -> OutboxImport:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q["create_outbox_stage"])
            if fmt == OUTBOX_POSTGRES_COPY:
                await conn.copy_to_table("jm_outbox_stage", source=io.BytesIO(data),
                                         schema_name="pg_temp", format="binary")
            elif fmt == OUTBOX_NATS_JSON:  # the server parses the rows
                await conn.execute(self.q["stage_nats_rows"], data.decode())
            else:
                raise ValueError(f"unknown outbox format {fmt!r}")
            row = await conn.fetchrow(self.q["apply_outbox_stage"], agent_name)
        assert row is not None
        return OutboxImport(list(row[0]), row[1])

    async def get_job(self, job_id: str) -> JobInfo | None:
        if not is_uuid(job_id):
            return None
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(self.q["get_job"], job_id)
            if row is None:
                held = await conn.fetchrow(self.q["get_held"], job_id)
                return None if held is None else info_from_event(event_from_row(held), [])
            attempts = await conn.fetch(self.q["get_attempts"], job_id)
        return info_from_event(event_from_row(row), [attempt_from_row(a) for a in attempts])

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        if not is_uuid(job_id):
            return []
        return [attempt_from_row(a) for a in await self.pool.fetch(self.q["get_attempts"], job_id)]

    async def list_jobs(self, query: JobQuery) -> JobPage:
        rows: list[Any] = []
        if query.status is not JobStatus.SCHEDULED:
            rows.extend(await self._history_rows(query))
        if query.status in (None, JobStatus.SCHEDULED):  # held jobs are SCHEDULED
            rows.extend(await self.list_held_rows(query))
            rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        kept = rows[: query.limit]
        attempts: dict[str, list[Attempt]] = {r["id"]: [] for r in kept}
        if attempts:
            for a in await self.pool.fetch(self.q["list_attempts"], list(attempts)):
                attempts[a["job_id"]].append(attempt_from_row(a))
        infos = [info_from_event(event_from_row(row), attempts.get(row["id"], [])) for row in rows]
        return page_of(infos[: query.limit + 1], query.limit)

    async def _history_rows(self, query: JobQuery) -> list[Any]:
        after_created, after_id = decode_cursor(query.cursor) if query.cursor else (None, None)
        rows: list[Any] = await self.pool.fetch(
            self.q["list_jobs"],
            query.status.value if query.status else None, query.definition_id, query.lane,
            query.schedule_id, query.created_from, query.created_to, after_created, after_id,
            query.limit + 1,
        )
        return rows

    async def find_idempotent(self, key: str) -> str | None:
        found = await self.pool.fetch(self.q["find_held_keys"], [key])
        return str(found[0][1]) if found else None

    async def purge_history(self, older_than: timedelta, *, limit: int) -> int:
        await self.pool.execute(self.q["purge_logs"], older_than, limit)
        status: str = await self.pool.execute(self.q["purge_history"], older_than, limit)
        return int(status.split()[-1])

    async def register_agents(self, agents: Sequence[AgentRecord]) -> None:
        await self.pool.execute(self.q["register_agents"], [a.name for a in agents],
                                [a.kind for a in agents], [a.location for a in agents])

    async def list_agents(self) -> list[AgentRecord]:
        return [AgentRecord(*row) for row in await self.pool.fetch(self.q["list_agents"])]

    async def write_logs(self, entries: Sequence[LogEntry]) -> None:
        await self.pool.execute(
            self.q["write_logs"], [e.at for e in entries], [e.level for e in entries],
            [e.logger for e in entries], [e.message for e in entries],
            [e.host for e in entries], [e.pid for e in entries])

    async def list_logs(self, query: LogQuery) -> list[LogEntry]:
        rows = await self.pool.fetch(self.q["list_logs"], query.min_level, query.logger_prefix,
                                     query.since, query.until, query.text, query.limit)
        return [LogEntry(*row) for row in rows]

    async def register_worker(self, worker: WorkerRecord) -> None:
        await self.pool.execute(
            self.q["register_worker"],
            worker.id,
            worker.name,
            worker.host,
            worker.pid,
            worker.agent,
            json.dumps(list(worker.lanes)),
            worker.concurrency,
            worker.started_at,
            worker.status,
        )

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        await self.pool.execute(
            self.q["heartbeat_workers"], list(in_flight), list(in_flight.values())
        )

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self.pool.execute(self.q["set_worker_status"], worker_id, status)

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self.pool.fetch(self.q["list_workers"], DEAD_AFTER)
        return [
            WorkerRecord(
                id=r["id"],
                name=r["name"],
                host=r["host"],
                pid=r["pid"],
                agent=r["agent"],
                lanes=tuple(json.loads(r["lanes"])),
                concurrency=r["concurrency"],
                started_at=r["started_at"],
                last_heartbeat=r["last_heartbeat"],
                status=r["status"],
                in_flight=r["in_flight"],
            )
            for r in rows
        ]


def latest_snapshots(events: Sequence[JobEvent]) -> tuple[list[JobEvent], list[JobEvent]]:
    """Per job the newest final snapshot, and per (job, attempt number) the newest attempt, both
    sorted by job id so that concurrent writers lock rows in one order (no deadlocks)."""
    jobs: dict[str, JobEvent] = {}
    attempts: dict[tuple[str, int], JobEvent] = {}
    for event in events:
        known = jobs.get(event.job_id)
        if event.status.is_final and (known is None or known.version < event.version):
            jobs[event.job_id] = event
        if event.attempt is not None:
            key = (event.job_id, event.attempt.number)
            seen = attempts.get(key)
            if seen is None or seen.version < event.version:
                attempts[key] = event
    return (
        sorted(jobs.values(), key=lambda e: e.job_id),
        [attempts[key] for key in sorted(attempts)],
    )


def _job_columns(jobs: list[JobEvent]) -> list[list[Any]]:
    return [
        [e.job_id for e in jobs],
        [e.version for e in jobs],
        [e.status.value for e in jobs],
        [e.definition_id for e in jobs],
        [e.lane for e in jobs],
        [e.priority for e in jobs],
        [e.scheduled_at for e in jobs],
        [e.created_at for e in jobs],
        [e.msg_data for e in jobs],
        [e.metadata for e in jobs],
        [e.attempt_count for e in jobs],
        [e.max_retries for e in jobs],
        [e.timeout_ms for e in jobs],
        [e.idempotency_key for e in jobs],
        [e.schedule_id for e in jobs],
        [e.trigger.value for e in jobs],
        [e.last_error for e in jobs],
        [e.finished_at for e in jobs],
        [e.agent for e in jobs],
    ]


def _attempt_columns(events: list[JobEvent]) -> list[list[Any]]:
    attempts = [(e, e.attempt) for e in events if e.attempt is not None]
    return [
        [e.job_id for e, _ in attempts],
        [a.number for _, a in attempts],
        [e.version for e, _ in attempts],
        [a.started_at for _, a in attempts],
        [a.finished_at for _, a in attempts],
        [a.worker_id for _, a in attempts],
        [a.outcome.value for _, a in attempts],
        [a.error for _, a in attempts],
        [a.traceback for _, a in attempts],
    ]

