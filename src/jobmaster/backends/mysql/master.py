"""MySQL/MariaDB master store: job history, attempts and topology."""

from __future__ import annotations

from collections.abc import Sequence

from ...abc import MasterStore
from ...config import BackendSpec
from ...model import JobEvent, JobInfo, WorkerRecord
from .._common import DEAD_AFTER, info_from_event
from .._sqlcommon.rows import attempt_from, event_from, worker_from, worker_params
from .._sqlcommon.views import SqlMasterViews
from .codec import DOCUMENTS, json_batches
from .connection import MYSQL_CAPABILITIES, Cursor, MysqlStore


class MysqlMaster(MysqlStore, SqlMasterViews, MasterStore):
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
        jobs = json_batches(DOCUMENTS.event(e) for e in ordered if e.status.is_final)
        attempts = json_batches(
            DOCUMENTS.attempt(e, e.attempt) for e in ordered if e.attempt is not None)
        await self.transaction(lambda cur: self._apply(cur, jobs, attempts))

    async def _apply(self, cur: Cursor, jobs: list[str], attempts: list[str]) -> None:
        for batch in jobs:
            await cur.execute(self.q["apply_jobs"], {"jobs": batch})
        for batch in attempts:
            await cur.execute(self.q["apply_attempts"], {"attempts": batch})

    async def get_job(self, job_id: str) -> JobInfo | None:
        rows = await self.rows("get_job", {"id": job_id})
        if not rows:
            return None
        attempts = await self.rows("get_attempts", {"id": job_id})
        return info_from_event(event_from(rows[0]), [attempt_from(row) for row in attempts])

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
