"""Held jobs of the SQLite master (SCHEDULED until a promoter moves them to an agent).

Every call is one ``BEGIN IMMEDIATE`` transaction: taking due jobs cannot race another process.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from ...model import EnqueueResult, HeldJob, JobInfo, JobQuery, NewJob
from .._common import info_from_event
from .._sqlcommon.rows import held_from
from ..sql import Queries
from .codec import dt, event_from, filtered_query, later, new_row, now_ts, ts
from .connection import Database

Conn = sqlite3.Connection


class SqliteHeld:
    """Mixin of :class:`~jobmaster.backends.sqlite.SqliteMaster`."""

    _q: Queries
    _db: Database

    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        return await self._db.write(lambda conn: self._hold(conn, jobs, now_ts()))

    def _hold(self, conn: Conn, jobs: Sequence[NewJob], now: float) -> list[EnqueueResult]:
        results = []
        for job in jobs:
            key = job.idempotency_key or None
            holder = conn.execute(self._q["find_held_key"], (key, key)).fetchone() if key else None
            exists = conn.execute(self._q["job_exists"], (job.id,)).fetchone()
            if holder is not None or exists is not None:
                results.append(EnqueueResult(holder[0] if holder else job.id, False))
                continue
            created = conn.execute(self._q["hold_job"], new_row(job, now)).rowcount
            results.append(EnqueueResult(job.id, bool(created)))
        return results

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        token = f"{owner}:{uuid.uuid4().hex}"
        return await self._db.write(lambda conn: self._claim(conn, token, due_within, limit,
                                                             lease))

    def _claim(self, conn: Conn, token: str, due_within: timedelta, limit: int,
               lease: timedelta) -> list[HeldJob]:
        now = now_ts()
        rows = conn.execute(self._q["due_held"], (later(now, due_within), now, limit)).fetchall()
        until = later(now, lease)
        conn.executemany(self._q["take_held"], [(token, until, row["id"]) for row in rows])
        return [held_from(row, token, retaken=row["promote_takes"] >= 1, when=dt) for row in rows]

    async def finish_held(self, tokens: dict[str, str]) -> int:
        return await self._db.write(lambda conn: sum(
            conn.execute(self._q["finish_held"], item).rowcount for item in tokens.items()))

    async def release_held(self, tokens: dict[str, str]) -> int:
        return await self._db.write(lambda conn: sum(
            conn.execute(self._q["release_held"], item).rowcount for item in tokens.items()))

    async def cancel_held(self, job_id: str) -> bool:
        return await self._db.write(lambda conn: self._cancel(conn, job_id))

    def _cancel(self, conn: Conn, job_id: str) -> bool:
        now = now_ts()
        row = conn.execute(self._q["get_free_held"], (job_id, now)).fetchone()
        if row is None:
            return False
        conn.execute(self._q["delete_held"], (job_id,))
        conn.execute(self._q["insert_cancelled"], {**dict(row), "now": now})
        return True

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        return await self._db.write(lambda conn: bool(conn.execute(
            self._q["reschedule_held"], (ts(when), job_id, now_ts())).rowcount))

    def held_info(self, conn: Conn, job_id: str) -> list[JobInfo]:
        """The held job ``job_id`` as SCHEDULED (a list of zero or one)."""
        return [info_from_event(event_from(row, with_attempt=False), [])
                for row in conn.execute(self._q["get_held"], (job_id,))]

    def held_infos(self, conn: Conn, query: JobQuery) -> list[JobInfo]:
        """Held jobs matching ``query`` as SCHEDULED (newest first, at most ``limit + 1``)."""
        sql, params = filtered_query(self._q["list_held"], query)
        return [info_from_event(event_from(row, with_attempt=False), [])
                for row in conn.execute(sql, params)]

