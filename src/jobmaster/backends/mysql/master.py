"""MySQL/MariaDB master store: job history, attempts and topology."""

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
    json_batches,
    page,
    query_params,
)
from .connection import MYSQL_CAPABILITIES, Cursor, MysqlStore


class MysqlMaster(MysqlStore, MasterStore):
    """Master store on MySQL/MariaDB (tables ``{prefix}job``, ``{prefix}attempt``,
    ``{prefix}worker``)."""

    role = "master"
    capabilities = MYSQL_CAPABILITIES

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, pool_role="master")

    async def apply_events(self, events: Sequence[JobEvent]) -> None:
        if not events:
            return
        # Sorted by job id so that concurrent writers lock rows in one order.
        ordered = sorted(events, key=lambda e: (e.job_id, e.version))
        # The history holds jobs that left their agent; other events carry only an attempt.
        jobs = json_batches(event_json(e) for e in ordered if e.status.is_final)
        attempts = json_batches(
            attempt_json(e, e.attempt) for e in ordered if e.attempt is not None)
        await self.transaction(lambda cur: self._apply(cur, jobs, attempts))

    async def _apply(self, cur: Cursor, jobs: list[str], attempts: list[str]) -> None:
        for batch in jobs:
            await cur.execute(self.q["apply_jobs"], {"jobs": batch})
        for batch in attempts:
            await cur.execute(self.q["apply_attempts"], {"attempts": batch})

    async def get_job(self, job_id: str) -> JobInfo | None:
        rows = await self.fetch("get_job", {"id": job_id})
        if not rows:
            return None
        attempts = await self.fetch("get_attempts", {"id": job_id})
        found = [a for a in (attempt_from(row, prefix="") for row in attempts) if a is not None]
        return info_from_event(event_from(rows[0]), found)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        rows = await self.fetch("list_jobs", query_params(query))
        attempts: dict[str, list[Attempt]] = {row["id"]: [] for row in rows[: query.limit]}
        if attempts:
            for row in await self.fetch("list_attempts", {"ids": tuple(attempts)}):
                found = attempt_from(row, prefix="")
                if found is not None:
                    attempts[row["job_id"]].append(found)
        return page([info_from_event(event_from(row), attempts.get(row["id"], []))
                     for row in rows], query.limit)

    async def get_attempts(self, job_id: str) -> list[Attempt]:
        rows = await self.fetch("get_attempts", {"id": job_id})
        return [a for a in (attempt_from(row, prefix="") for row in rows) if a is not None]

    async def find_idempotent(self, key: str) -> str | None:
        rows = await self.fetch("find_idempotent", {"key": key})
        return str(rows[0]["id"]) if rows else None

    async def register_worker(self, worker: WorkerRecord) -> None:
        await self.execute("register_worker", {
            "id": worker.id, "name": worker.name, "host": worker.host, "pid": worker.pid,
            "agent": worker.agent, "lanes": json.dumps(list(worker.lanes)),
            "concurrency": worker.concurrency, "started_at": db_time(worker.started_at),
            "status": worker.status,
        })

    async def heartbeat_workers(self, in_flight: dict[str, int]) -> None:
        if not in_flight:
            return
        workers = [{"id": worker_id, "in_flight": count} for worker_id, count in in_flight.items()]
        for batch in json_batches(workers):
            await self.execute("heartbeat_workers", {"workers": batch})

    async def set_worker_status(self, worker_id: str, status: str) -> None:
        await self.execute("set_worker_status", {"id": worker_id, "status": status})

    async def list_workers(self) -> list[WorkerRecord]:
        rows = await self.fetch("list_workers",
                                {"dead_us": int(DEAD_AFTER.total_seconds() * 1_000_000)})
        return [_worker(row) for row in rows]


def _worker(row: dict[str, Any]) -> WorkerRecord:
    return WorkerRecord(
        id=row["id"], name=row["name"], host=row["host"], pid=row["pid"], agent=row["agent"],
        lanes=tuple(json.loads(row["lanes"])), concurrency=row["concurrency"],
        started_at=aware(row["started_at"]), last_heartbeat=aware(row["last_heartbeat"]),
        status=row["status"], in_flight=row["in_flight"],
    )
