"""Schedules, slots and leader leases of the SQL Server master.

Slot records are written with ``MERGE ... WITH (HOLDLOCK)``: the key-range lock serializes
planners racing on one slot, and the primary key ``(schedule_id, slot_at)`` refuses a second
row, so each slot is created once. The leader lease is one ``MERGE`` as well (take, extend or
leave). Every time is the server's ``SYSUTCDATETIME()``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ...recurring.records import (
    ScheduleQuery,
    ScheduleRecord,
    SlotOutcome,
    SlotRecord,
)
from .._sqlcommon.rows import db_time, schedule_from, schedule_params, slot_from
from .codec import DOCUMENTS, split_delta, times_json, to_json
from .connection import SqlServerStore


class SqlServerSchedules(SqlServerStore):
    """The schedule operations of :class:`~jobmaster.backends.sqlserver.SqlServerMaster`."""

    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        params = schedule_params(record)
        del params["version"]  # a new schedule starts at the version the query sets
        return bool(await self.rows("insert_schedule", params))

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        rows = await self.rows("get_schedule", {"id": schedule_id})
        return schedule_from(rows[0]) if rows else None

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        rows = await self.rows("list_schedules", {
            "status": query.status.value if query.status else None,
            "kind": query.kind.value if query.kind else None,
            "definition_id": query.definition_id, "profile_id": query.profile_id,
            "after_id": query.after_id, "limit": query.limit})
        return [schedule_from(row) for row in rows]

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        params = schedule_params(record)
        del params["kind"]  # never changes
        rows = await self.rows("update_schedule", params)
        return schedule_from(rows[0]) if rows else None

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        if schedule_ids:
            await self.rows("declare_static", {"ids": self.id_list(sorted(schedule_ids))})

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        older_s, older_us = split_delta(older_than)
        rows = await self.rows("retire_undeclared", {"older_s": older_s, "older_us": older_us})
        return sorted(row["id"] for row in rows)

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        if not slots:
            return []
        # MERGE refuses a source that names one slot twice: the first occurrence wins. Sorted
        # by key, concurrent planners lock the slots in one order.
        first: dict[tuple[str, str], int] = {}
        for position, slot in enumerate(slots):
            first.setdefault((slot.schedule_id, DOCUMENTS.time(slot.slot_at) or ""), position)
        document = to_json(_slot_json(slots[position], position)
                           for _, position in sorted(first.items()))
        created = {row["n"] for row in await self.rows("insert_slots", {"slots": document})}
        return [position in created for position in range(len(slots))]

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        if slot_ats:
            await self.rows("set_slot_outcome", {"schedule_id": schedule_id,
                                                 "slot_ats": times_json(slot_ats),
                                                 "outcome": outcome.value})

    async def list_slots(
        self,
        schedule_id: str,
        *,
        after: datetime | None = None,
        outcome: SlotOutcome | None = None,
        limit: int = 1000,
    ) -> list[SlotRecord]:
        rows = await self.rows("list_slots", {
            "schedule_id": schedule_id, "after": db_time(after),
            "outcome": outcome.value if outcome else None, "limit": limit})
        return [slot_from(row) for row in rows]

    async def delete_slots(self, schedule_id: str, slot_ats: Sequence[datetime]) -> int:
        if not slot_ats:
            return 0
        return len(await self.rows("delete_slots", {"schedule_id": schedule_id,
                                                    "slot_ats": times_json(slot_ats)}))

    async def trim_slots(self, before: datetime) -> int:
        rows = await self.rows("trim_slots", {"before": db_time(before)})
        return int(rows[0]["trimmed"]) if rows else 0

    # -- leader leases ----------------------------------------------------------------------
    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        ttl_s, ttl_us = split_delta(ttl)
        rows = await self.rows("acquire_leader", {
            "name": name, "owner": owner, "token": uuid.uuid4().hex,
            "ttl_s": ttl_s, "ttl_us": ttl_us})
        return str(rows[0]["token"]) if rows else None

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        ttl_s, ttl_us = split_delta(ttl)
        return bool(await self.rows("renew_leader", {
            "name": name, "token": token, "ttl_s": ttl_s, "ttl_us": ttl_us}))

    async def release_leader(self, name: str, token: str) -> bool:
        return bool(await self.rows("release_leader", {"name": name, "token": token}))


def _slot_json(slot: SlotRecord, position: int) -> dict[str, Any]:
    """One slot of ``insert_slots``; ``n`` is its position in the caller's list."""
    return {"n": position, "schedule_id": slot.schedule_id,
            "slot_at": DOCUMENTS.time(slot.slot_at), "job_id": slot.job_id,
            "outcome": slot.outcome.value}

