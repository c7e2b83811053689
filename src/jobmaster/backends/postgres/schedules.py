"""Schedules, slots and leader leases of the PostgreSQL master."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from ...recurring.records import (
    ScheduleQuery,
    ScheduleRecord,
    SlotOutcome,
    SlotRecord,
)
from .._sqlcommon.rows import schedule_from
from ..sql import Queries


class PostgresSchedules:
    """Mixin of :class:`~jobmaster.backends.postgres.PostgresMaster`."""

    q: Queries

    if TYPE_CHECKING:

        @property
        def pool(self) -> asyncpg.Pool: ...

    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        row = await self.pool.fetchval(self.q["insert_schedule"], *_columns(record))
        return row is not None

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        row = await self.pool.fetchrow(self.q["get_schedule"], schedule_id)
        return None if row is None else schedule_from(row)

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        rows = await self.pool.fetch(
            self.q["list_schedules"],
            query.status.value if query.status else None,
            query.kind.value if query.kind else None,
            query.definition_id,
            query.profile_id,
            query.after_id,
            query.limit,
        )
        return [schedule_from(row) for row in rows]

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        columns = _columns(record)
        row = await self.pool.fetchrow(
            self.q["update_schedule"], record.id, record.version, *columns[2:])
        return None if row is None else schedule_from(row)

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        if schedule_ids:
            await self.pool.execute(self.q["declare_static"], list(schedule_ids))

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        rows = await self.pool.fetch(self.q["retire_undeclared"], older_than)
        return [row["id"] for row in rows]

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        if not slots:
            return []
        rows = await self.pool.fetch(
            self.q["insert_slots"],
            [s.schedule_id for s in slots],
            [s.slot_at for s in slots],
            [s.job_id for s in slots],
            [s.outcome.value for s in slots],
        )
        created = {(row["schedule_id"], row["slot_at"]) for row in rows}
        return [(s.schedule_id, s.slot_at) in created for s in slots]

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        await self.pool.execute(self.q["set_slot_outcome"], schedule_id, list(slot_ats),
                                outcome.value)

    async def list_slots(
        self,
        schedule_id: str,
        *,
        after: datetime | None = None,
        outcome: SlotOutcome | None = None,
        limit: int = 1000,
    ) -> list[SlotRecord]:
        rows = await self.pool.fetch(self.q["list_slots"], schedule_id, after,
                                     outcome.value if outcome else None, limit)
        return [SlotRecord(r["schedule_id"], r["slot_at"], r["job_id"], SlotOutcome(r["outcome"]),
                           r["created_at"]) for r in rows]

    async def delete_slots(self, schedule_id: str, slot_ats: Sequence[datetime]) -> int:
        deleted: int = await self.pool.fetchval(self.q["delete_slots"], schedule_id,
                                                list(slot_ats))
        return deleted

    async def trim_slots(self, before: datetime) -> int:
        deleted: int = await self.pool.fetchval(self.q["trim_slots"], before)
        return deleted

    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        token: str | None = await self.pool.fetchval(
            self.q["acquire_leader"], name, owner, uuid.uuid4().hex, ttl)
        return token

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        return await self.pool.fetchval(self.q["renew_leader"], name, token, ttl) is not None

    async def release_leader(self, name: str, token: str) -> bool:
        return await self.pool.fetchval(self.q["release_leader"], name, token) is not None


def _columns(r: ScheduleRecord) -> list[Any]:
    """Parameters $1..$27 of insert_schedule (update_schedule takes $3.. after id, version)."""
    return [
        r.id, r.kind.value, r.static_key, r.profile_id, r.definition_id, r.expression_kind,
        r.expression_text, r.expression_tz, r.msg_data, r.metadata, r.lane, r.priority,
        r.max_retries, r.timeout_ms, r.backoff, r.status.value, r.misfire.value,
        r.catch_up_limit, r.allow_overlap, r.start_after, r.end_before, r.next_run_at,
        r.planned_until, r.last_job_id, r.missed_count, r.skipped_count, r.generation,
    ]

