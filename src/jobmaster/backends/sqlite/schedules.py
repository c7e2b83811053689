"""Schedules, slots and leader leases of the SQLite master.

Each call is one ``BEGIN IMMEDIATE`` transaction, so the read-then-write of the leader lease is
atomic across processes. Slot instants are stored as integer microseconds (exact equality).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...recurring.records import (
    ScheduleQuery,
    ScheduleRecord,
    SlotOutcome,
    SlotRecord,
)
from .._sqlcommon.rows import schedule_from, schedule_params
from ..sql import Queries
from .codec import dt, now_ts, opt_dt, ts
from .connection import Database

Conn = sqlite3.Connection
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(value: datetime) -> int:
    """An instant as integer microseconds since the epoch."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class SqliteSchedules:
    """Mixin of :class:`~jobmaster.backends.sqlite.SqliteMaster`."""

    _q: Queries
    _db: Database

    async def insert_schedule(self, record: ScheduleRecord) -> bool:
        params = {**schedule_params(record, _ts), "now": now_ts()}
        count = await self._db.write(
            lambda conn: conn.execute(self._q["insert_schedule"], params).rowcount)
        return bool(count)

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        row = await self._db.read(
            lambda conn: conn.execute(self._q["get_schedule"], (schedule_id,)).fetchone())
        return None if row is None else schedule_from(row, opt_dt)

    async def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        params = {
            "status": query.status.value if query.status else None,
            "kind": query.kind.value if query.kind else None,
            "definition_id": query.definition_id, "profile_id": query.profile_id,
            "after_id": query.after_id, "limit": query.limit,
        }
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["list_schedules"], params).fetchall())
        return [schedule_from(row, opt_dt) for row in rows]

    async def update_schedule(self, record: ScheduleRecord) -> ScheduleRecord | None:
        params = {**schedule_params(record, _ts), "now": now_ts()}

        def work(conn: Conn) -> Any:
            if not conn.execute(self._q["update_schedule"], params).rowcount:
                return None
            return conn.execute(self._q["get_schedule"], (record.id,)).fetchone()

        row = await self._db.write(work)
        return None if row is None else schedule_from(row, opt_dt)

    async def declare_static(self, schedule_ids: Sequence[str]) -> None:
        if schedule_ids:
            ids = json.dumps(list(schedule_ids))
            await self._db.write(
                lambda conn: conn.execute(self._q["declare_static"], (now_ts(), ids)))

    async def retire_undeclared(self, older_than: timedelta) -> list[str]:
        now = now_ts()
        params = {"now": now, "before": now - older_than.total_seconds()}
        rows = await self._db.write(
            lambda conn: conn.execute(self._q["retire_undeclared"], params).fetchall())
        return [row["id"] for row in rows]

    async def insert_slots(self, slots: Sequence[SlotRecord]) -> list[bool]:
        if not slots:
            return []
        now = now_ts()

        def work(conn: Conn) -> list[bool]:
            return [bool(conn.execute(self._q["insert_slot"], (
                s.schedule_id, micros(s.slot_at), s.job_id, s.outcome.value, now)).rowcount)
                for s in slots]

        return await self._db.write(work)

    async def set_slot_outcome(
        self, schedule_id: str, slot_ats: Sequence[datetime], outcome: SlotOutcome
    ) -> None:
        params = [(outcome.value, schedule_id, micros(at)) for at in slot_ats]
        await self._db.write(
            lambda conn: conn.executemany(self._q["set_slot_outcome"], params))

    async def list_slots(
        self,
        schedule_id: str,
        *,
        after: datetime | None = None,
        outcome: SlotOutcome | None = None,
        limit: int = 1000,
    ) -> list[SlotRecord]:
        params = {"schedule_id": schedule_id, "after": None if after is None else micros(after),
                  "outcome": outcome.value if outcome else None, "limit": limit}
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["list_slots"], params).fetchall())
        return [SlotRecord(r["schedule_id"], from_micros(r["slot_at"]), r["job_id"],
                           SlotOutcome(r["outcome"]), dt(r["created_at"])) for r in rows]

    async def delete_slots(self, schedule_id: str, slot_ats: Sequence[datetime]) -> int:
        def work(conn: Conn) -> int:
            return sum(conn.execute(self._q["delete_slot"], (schedule_id, micros(at))).rowcount
                       for at in slot_ats)

        return await self._db.write(work)

    async def trim_slots(self, before: datetime) -> int:
        return await self._db.write(
            lambda conn: conn.execute(self._q["trim_slots"], (micros(before),)).rowcount)

    async def acquire_leader(self, name: str, owner: str, ttl: timedelta) -> str | None:
        def work(conn: Conn) -> str | None:
            now = now_ts()
            row = conn.execute(self._q["get_leader"], (name,)).fetchone()
            live = row is not None and row["expires_at"] > now
            if live and row["owner"] != owner:
                return None
            token = row["token"] if live else uuid.uuid4().hex
            conn.execute(self._q["set_leader"],
                         (name, owner, token, now + ttl.total_seconds()))
            return str(token)

        return await self._db.write(work)

    async def renew_leader(self, name: str, token: str, ttl: timedelta) -> bool:
        def work(conn: Conn) -> bool:
            now = now_ts()
            return bool(conn.execute(self._q["renew_leader"],
                                     (now + ttl.total_seconds(), name, token, now)).rowcount)

        return await self._db.write(work)

    async def release_leader(self, name: str, token: str) -> bool:
        return await self._db.write(
            lambda conn: bool(conn.execute(self._q["release_leader"], (name, token)).rowcount))


def _ts(value: datetime | None) -> float | None:
    """A nullable time as the epoch seconds SQLite stores."""
    return None if value is None else ts(value)
