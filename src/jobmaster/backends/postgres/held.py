"""Held jobs of the PostgreSQL master (SCHEDULED until a promoter moves them to an agent)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from ...model import EnqueueResult, HeldJob, JobQuery, NewJob
from .._common import decode_cursor, is_uuid
from .._sqlcommon.rows import held_from
from ..sql import Queries
from .rows import new_job_columns


class PostgresHeld:
    """Mixin of :class:`~jobmaster.backends.postgres.PostgresMaster`."""

    q: Queries

    if TYPE_CHECKING:

        @property
        def pool(self) -> asyncpg.Pool: ...

    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        rows = await self.pool.fetch(self.q["hold_jobs"], *new_job_columns(jobs))
        created = {row[0] for row in rows}
        keys = [j.idempotency_key for j in jobs if j.id not in created and j.idempotency_key]
        holders: dict[str, str] = {}
        if keys:
            for row in await self.pool.fetch(self.q["find_held_keys"], keys):
                holders.setdefault(row[0], row[1])
        return [
            EnqueueResult(j.id, True) if j.id in created
            else EnqueueResult(holders.get(j.idempotency_key or "", j.id), False)
            for j in jobs
        ]

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        token = f"{owner}:{uuid.uuid4().hex}"
        rows = await self.pool.fetch(self.q["claim_held"], due_within, limit, token, lease)
        return [held_from(row, token, retaken=row["promote_takes"] > 1) for row in rows]

    async def finish_held(self, tokens: dict[str, str]) -> int:
        status: str = await self.pool.execute(self.q["finish_held"], list(tokens),
                                              list(tokens.values()))
        return int(status.split()[-1])

    async def release_held(self, tokens: dict[str, str]) -> int:
        status: str = await self.pool.execute(self.q["release_held"], list(tokens),
                                              list(tokens.values()))
        return int(status.split()[-1])

    async def cancel_held(self, job_id: str) -> bool:
        return is_uuid(job_id) and bool(await self.pool.fetchval(self.q["cancel_held"], job_id))

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        return is_uuid(job_id) and bool(
            await self.pool.fetchval(self.q["reschedule_held"], job_id, when))

    async def get_held_row(self, job_id: str) -> Any:
        """The held job's row shaped like a history row, or None."""
        return await self.pool.fetchrow(self.q["get_held"], job_id) if is_uuid(job_id) else None

    async def list_held_rows(self, query: JobQuery) -> list[Any]:
        """Held jobs matching ``query`` (newest first, ``limit + 1`` rows), history-shaped."""
        after_created, after_id = decode_cursor(query.cursor) if query.cursor else (None, None)
        rows: list[Any] = await self.pool.fetch(
            self.q["list_held"], query.definition_id, query.lane, query.schedule_id,
            query.created_from, query.created_to, after_created, after_id, query.limit + 1)
        return rows

