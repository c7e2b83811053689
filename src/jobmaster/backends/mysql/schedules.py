"""Schedules, slots and leader leases of the MySQL/MariaDB master.

A slot runs at most once because ``(schedule_id, slot_at)`` is the primary key of the slot
table: racing planners' inserts of one slot are serialized by the key, and each call learns
which slots it created from the writer token it stamped on them. The leader lease is read with
``FOR UPDATE`` and written in the same transaction; two processes creating it at once collide on
its key, and the loser retries and finds it taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncmy

from ...recurring.records import (
    ScheduleQuery,
    ScheduleRecord,
    SlotOutcome,
    SlotRecord,
)
from .._sqlcommon.rows import db_time, schedule_from, schedule_params, slot_from
from .codec import DOCUMENTS, json_batches, micros
from .connection import Cursor, MysqlStore, error_code

#: Server error: a row with this primary key exists already.
DUPLICATE_KEY = 1062


class MysqlSchedules(MysqlStore):
    """Schedules, slots and leader leases of :class:`~jobmaster.backends.mysql.MysqlMaster`."""

    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        try:
            await self.execute("insert_schedule", schedule_params(record))
        except asyncmy.errors.IntegrityError as exc:
            if error_code(exc) == DUPLICATE_KEY:
                return False  # declared by another process first: nothing changes
            raise
        return True

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        rows = await self.rows("get_schedule", {"id": schedule_id})
        return schedule_from(rows[0]) if rows else None

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        rows = await self.rows("list_schedules", {
            "status": query.status.value if query.status else None,
            "kind": query.kind.value if query.kind else None,
            "definition_id": query.definition_id, "profile_id": query.profile_id,
            "after_id": query.after_id, "limit": query.limit,
        })
        return [schedule_from(row) for row in rows]

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        return await self.transaction(lambda cur: self._update(cur, schedule_params(record)))

    async def _update(self, cur: Cursor, params: dict[str, Any]) -> ScheduleRecord | None:
        if not await cur.execute(self.q["update_schedule"], params):
            return None  # changed by another writer first, or gone
        await cur.execute(self.q["get_schedule"], {"id": params["id"]})
        return schedule_from(await cur.fetchone())

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        if schedule_ids:
            await self.execute("declare_static", {"ids": tuple(schedule_ids)})

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        return await self.transaction(lambda cur: self._retire(cur, micros(older_than)))

    async def _retire(self, cur: Cursor, older_us: int) -> list[str]:
        ids = [row["id"] for row in await self._rows(cur, "lock_undeclared",
                                                     {"older_us": older_us})]
        if ids:
            await cur.execute(self.q["retire_undeclared"], {"ids": tuple(ids)})
        return ids

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        if not slots:
            return []
        writer = uuid.uuid4().hex
        created = await self.transaction(lambda cur: self._insert_slots(cur, slots, writer))
        return [(s.schedule_id, db_time(s.slot_at)) in created for s in slots]

    async def _insert_slots(self, cur: Cursor, slots: Sequence[SlotRecord],
                            writer: str) -> set[tuple[str, datetime | None]]:
        documents = ({"schedule_id": s.schedule_id, "slot_at": DOCUMENTS.time(s.slot_at),
                      "job_id": s.job_id, "outcome": s.outcome.value} for s in slots)
        for batch in json_batches(documents):
            await cur.execute(self.q["insert_slots"], {"slots": batch, "writer": writer})
        await cur.execute(self.q["created_slots"], {
            "schedule_ids": tuple({s.schedule_id for s in slots}), "writer": writer,
            "slot_ats": tuple({db_time(s.slot_at) for s in slots})})
        return {(row["schedule_id"], row["slot_at"]) for row in await cur.fetchall()}

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        if slot_ats:
            await self.execute("set_slot_outcome", {
                "schedule_id": schedule_id, "outcome": outcome.value,
                "slot_ats": tuple(db_time(at) for at in slot_ats)})

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
        return await self.execute("delete_slots", {
            "schedule_id": schedule_id, "slot_ats": tuple(db_time(at) for at in slot_ats)})

    async def trim_slots(self, before: datetime) -> int:
        return await self.execute("trim_slots", {"before": db_time(before)})

    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        params = {"name": name, "owner": owner, "ttl_us": micros(ttl)}
        return await self.transaction(lambda cur: self._acquire(cur, params))

    async def _acquire(self, cur: Cursor, params: dict[str, Any]) -> str | None:
        await cur.execute(self.q["lock_leader"], {"name": params["name"]})
        row = await cur.fetchone()
        if row is None:  # nobody ever led: a racing creator makes this fail, then retry
            token = uuid.uuid4().hex
            await cur.execute(self.q["insert_leader"], {**params, "token": token})
            return token
        if row["live"] and row["owner"] != params["owner"]:
            return None
        token = row["token"] if row["live"] else uuid.uuid4().hex  # re-entrant while live
        await cur.execute(self.q["set_leader"], {**params, "token": token})
        return str(token)

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        return bool(await self.execute("renew_leader",
                                       {"name": name, "token": token, "ttl_us": micros(ttl)}))

    async def release_leader(self, name: str, token: str) -> bool:
        return bool(await self.execute("release_leader", {"name": name, "token": token}))

