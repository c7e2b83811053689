"""Held jobs of the MySQL/MariaDB master (SCHEDULED until a promoter moves them to an agent).

Promotion is exactly-once by row locks: a promoter takes due jobs with ``FOR UPDATE SKIP LOCKED``
and stamps them with its token and a deadline in the same transaction, so a racing promoter
either skips the locked rows or, once they are committed, sees them taken. Finishing, releasing,
cancelling and rescheduling are conditional on that token or on its deadline having passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ...model import EnqueueResult, HeldJob, JobInfo, JobQuery, NewJob
from .._common import info_from_event, sort_out_new
from .._sqlcommon.rows import db_time, event_from, held_from, query_params
from .codec import DOCUMENTS, json_batches, micros
from .connection import Cursor, MysqlStore


class MysqlHeld(MysqlStore):
    """Held jobs of :class:`~jobmaster.backends.mysql.MysqlMaster`."""

    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        # A race on one id or key ends in a duplicate-key error: the transaction is retried and
        # then finds the winner.
        return await self.transaction(lambda cur: self._hold(cur, jobs))

    async def _hold(self, cur: Cursor, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        keys = tuple({j.idempotency_key for j in jobs if j.idempotency_key}) or ("",)
        holders: dict[str, str] = {}
        for row in await self._rows(cur, "find_held_keys", {"keys": keys}):
            holders.setdefault(row["idempotency_key"], row["id"])
        found = await self._rows(cur, "find_held_ids", {"ids": tuple(j.id for j in jobs)})
        taken = {row["id"] for row in found}
        results, fresh = sort_out_new(jobs, holders, taken)
        for batch in json_batches(DOCUMENTS.job(job) for job in fresh):
            await cur.execute(self.q["hold_jobs"], {"jobs": batch})
        return results

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        if limit <= 0:
            return []
        token = f"{owner}:{uuid.uuid4().hex}"
        params = {"due_us": micros(due_within), "limit": limit}
        return await self.transaction(lambda cur: self._claim(cur, params, token, lease))

    async def _claim(self, cur: Cursor, params: dict[str, Any], token: str,
                     lease: timedelta) -> list[HeldJob]:
        rows = await self._rows(cur, "claim_held", params)
        if not rows:
            return []
        await cur.execute(self.q["take_held"], {"token": token, "until": rows[0]["now"] + lease,
                                                "ids": tuple(row["id"] for row in rows)})
        # promote_takes as read before this take: taken before means the earlier token expired.
        return [held_from(row, token, retaken=row["promote_takes"] >= 1) for row in rows]

    async def finish_held(self, tokens: dict[str, str]) -> int:
        return await self._by_token("finish_held", tokens)

    async def release_held(self, tokens: dict[str, str]) -> int:
        return await self._by_token("release_held", tokens)

    async def _by_token(self, name: str, tokens: dict[str, str]) -> int:
        """One fenced statement over these (job, token) pairs, located by primary key (a
        row-constructor ``IN`` alone scans the table, locking as it goes) and retried on
        deadlocks with racing promoters."""
        if not tokens:
            return 0
        params = {"ids": tuple(sorted(tokens)), "pairs": tuple(sorted(tokens.items()))}

        async def run(cur: Cursor) -> int:
            count: int = await cur.execute(self.q[name], params)
            return count

        return await self.transaction(run)

    async def cancel_held(self, job_id: str) -> bool:
        return await self.transaction(lambda cur: self._cancel(cur, job_id))

    async def _cancel(self, cur: Cursor, job_id: str) -> bool:
        await cur.execute(self.q["lock_free_held"], {"id": job_id})
        row = await cur.fetchone()
        if row is None:  # not held here, or a promoter holds it right now
            return False
        await cur.execute(self.q["cancel_held"], {"id": job_id, "now": row["now"]})
        await cur.execute(self.q["delete_held"], {"id": job_id})
        return True

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        return bool(await self.execute("reschedule_held", {"id": job_id, "when": db_time(when)}))

    async def held_info(self, job_id: str) -> JobInfo | None:
        """The held job ``job_id`` as SCHEDULED, or None."""
        rows = await self.rows("get_held", {"id": job_id})
        return info_from_event(event_from(rows[0]), []) if rows else None

    async def held_rows(self, query: JobQuery) -> list[dict[str, Any]]:
        """Held jobs matching ``query`` as history rows (newest first, ``limit + 1`` rows)."""
        return await self.rows("list_held", query_params(query))

