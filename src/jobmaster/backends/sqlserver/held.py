"""Held jobs of the SQL Server master (SCHEDULED until a promoter moves them to an agent).

Promoters take due jobs with ``UPDLOCK, READPAST`` (concurrent promoters skip each other's rows)
under a token valid until ``promote_until``, by the server's clock; finishing or releasing a
job is fenced by that token, so a promoter whose token expired can change nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ...model import EnqueueResult, HeldJob, NewJob
from .._sqlcommon.rows import db_time, held_from
from .codec import DOCUMENTS, split_delta, to_json
from .connection import SqlServerStore, run


class SqlServerHeld(SqlServerStore):
    """The held-job operations of :class:`~jobmaster.backends.sqlserver.SqlServerMaster`."""

    async def hold_jobs(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        return await self.transaction(lambda cur: self._hold(cur, jobs))

    def _hold(self, cur: Any, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        batch = _first_of_each(jobs)
        rows = run(cur, self.sql("hold_jobs"), {"jobs": to_json(DOCUMENTS.job(j) for j in batch)})
        created = {row["id"] for row in rows}
        keys = sorted({j.idempotency_key for j in jobs
                       if j.idempotency_key and j.id not in created})
        holders: dict[str, str] = {}
        if keys:
            for row in run(cur, self.sql("find_held_keys"), {"keys": json.dumps(keys)}):
                holders.setdefault(row["idempotency_key"], row["job_id"])
        results = []
        for job in jobs:
            if job.id in created:
                created.discard(job.id)  # a repeated id in the batch was not stored twice
                results.append(EnqueueResult(job.id, True))
            else:
                results.append(EnqueueResult(holders.get(job.idempotency_key or "", job.id),
                                             False))
        return results

    async def claim_held(self, owner: str, *, due_within: timedelta, limit: int,
                         lease: timedelta) -> list[HeldJob]:
        if limit <= 0:
            return []
        token = f"{owner}:{uuid.uuid4().hex}"
        due_s, due_us = split_delta(due_within)
        lease_s, lease_us = split_delta(lease)
        rows = await self.rows("claim_held", {
            "limit": limit, "due_s": due_s, "due_us": due_us, "token": token,
            "lease_s": lease_s, "lease_us": lease_us})
        # promote_takes is read after this take: more than one means an earlier promoter's token
        # expired before it finished (it may have delivered the job).
        taken = [held_from(row, token, retaken=row["promote_takes"] > 1) for row in rows]
        taken.sort(key=lambda held: (held.scheduled_at, held.job.id))
        return taken

    async def finish_held(self, tokens: dict[str, str]) -> int:
        if not tokens:
            return 0
        return len(await self.rows("finish_held", {"tokens": _tokens_json(tokens)}))

    async def release_held(self, tokens: dict[str, str]) -> int:
        if not tokens:
            return 0
        return len(await self.rows("release_held", {"tokens": _tokens_json(tokens)}))

    async def cancel_held(self, job_id: str) -> bool:
        return bool(await self.rows("cancel_held", {"id": job_id}))

    async def reschedule_held(self, job_id: str, when: datetime) -> bool:
        return bool(await self.rows("reschedule_held", {"id": job_id, "when": db_time(when)}))


def _first_of_each(jobs: Sequence[NewJob]) -> list[NewJob]:
    """The jobs of a batch less those repeating an earlier one's id or idempotency key (the
    first wins: the primary key and the unique index would refuse the rest)."""
    ids: set[str] = set()
    keys: set[str] = set()
    kept: list[NewJob] = []
    for job in jobs:
        if job.id in ids or (job.idempotency_key and job.idempotency_key in keys):
            continue
        ids.add(job.id)
        if job.idempotency_key:
            keys.add(job.idempotency_key)
        kept.append(job)
    return kept


def _tokens_json(tokens: dict[str, str]) -> str:
    return to_json({"id": job_id, "token": token} for job_id, token in sorted(tokens.items()))

