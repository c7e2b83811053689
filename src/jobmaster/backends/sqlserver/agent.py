"""SQL Server agent transport: ``UPDLOCK, READPAST`` batch claims; every change writes its
outbox event in the same statement (``OUTPUT ... INTO``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ...abc import AgentTransport, LeaseExtension
from ...config import BackendSpec
from ...model import (
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    EnqueueResult,
    LeaseRef,
    NewJob,
    RescueResult,
)
from .._sqlcommon.rows import LEASE_LOST, claimed_from, db_time
from .._sqlcommon.views import SqlAgentViews
from .codec import DOCUMENTS, result_json, split_delta, to_json
from .connection import SQLSERVER_CAPABILITIES, run
from .due import SqlServerDueTimes


def _leases_json(leases: Sequence[LeaseRef]) -> str:
    return to_json({"id": ref.job_id, "token": ref.lease_token} for ref in leases)


class SqlServerAgent(SqlServerDueTimes, SqlAgentViews, AgentTransport):
    """Agent transport on SQL Server (tables ``{prefix}agent_job``, ``{prefix}agent_outbox``)."""

    role = "agent"

    def __init__(self, spec: BackendSpec, agent_name: str, *, pool_role: str = "agent",
                 colocated_master: bool = False) -> None:
        super().__init__(spec, pool_role=pool_role)
        self.agent_name = agent_name
        self.capabilities = replace(SQLSERVER_CAPABILITIES, colocated_sync=colocated_master)

    # -- enqueue ----------------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        return await self.transaction(lambda cur: self._enqueue(cur, jobs))

    def _enqueue(self, cur: Any, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        # A key repeated inside the batch: the first job wins (the index would refuse the rest).
        first: dict[str, str] = {}
        batch = [j for j in jobs if not j.idempotency_key
                 or first.setdefault(j.idempotency_key, j.id) == j.id]
        rows = run(cur, self.sql("enqueue"), {"jobs": to_json(DOCUMENTS.job(j) for j in batch)})
        created = {row["id"] for row in rows}
        keys = sorted({j.idempotency_key for j in jobs if j.idempotency_key
                       and j.id not in created})
        holders: dict[str, str] = {}
        if keys:
            for row in run(cur, self.sql("find_pending_keys"), {"keys": json.dumps(keys)}):
                holders.setdefault(row["idempotency_key"], row["job_id"])
        return [EnqueueResult(j.id, True) if j.id in created else EnqueueResult(
            holders.get(j.idempotency_key or "", j.id), False) for j in jobs]

    # -- claim, leases, completion ----------------------------------------------------------
    async def claim(self, worker_id: str, *, lanes: Sequence[str] | None,
                    definitions: Sequence[str], limit: int, lease: timedelta) -> list[ClaimedJob]:
        if limit <= 0 or not definitions or (lanes is not None and not lanes):
            return []
        lease_s, lease_us = split_delta(lease)
        params = {"limit": limit, "definitions": json.dumps(list(definitions)),
                  "lanes": None if lanes is None else json.dumps(list(lanes)),
                  "worker": worker_id, "lease_s": lease_s, "lease_us": lease_us}
        sql = self.sql("claim")
        rows = await self.transaction(lambda cur: run(cur, sql, params))
        jobs = [claimed_from(row, attempt=row["attempt"], lease_token=row["lease_token"],
                             lease_expires_at=row["lease_expires_at"]) for row in rows]
        jobs.sort(key=lambda j: (-j.priority, j.scheduled_at, j.id))
        return jobs

    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        if not leases:
            return LeaseExtension(frozenset())
        lease_s, lease_us = split_delta(lease)
        rows = await self.rows("extend_leases", {
            "leases": _leases_json(leases), "worker": worker_id,
            "lease_s": lease_s, "lease_us": lease_us})
        return LeaseExtension(frozenset(r["id"] for r in rows),
                              frozenset(r["id"] for r in rows if r["cancel_requested"]))

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        if not results:
            return set()
        rows = await self.rows("finish", {"results": to_json(result_json(r) for r in results)})
        return {row["id"] for row in rows}

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        if not leases:
            return 0
        return len(await self.rows("release", {"leases": _leases_json(leases)}))

    # -- cancel, reschedule, rescue ---------------------------------------------------------
    async def cancel(self, job_id: str) -> CancelOutcome:
        queued, running = self.sql("cancel_queued"), self.sql("cancel_running")

        def work(cur: Any) -> CancelOutcome:
            if run(cur, queued, {"id": job_id}):
                return CancelOutcome.CANCELLED
            if run(cur, running, {"id": job_id}):
                return CancelOutcome.REQUESTED
            return CancelOutcome.NOT_FOUND

        return await self.transaction(work)

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        return bool(await self.rows("reschedule", {"id": job_id, "when": db_time(when)}))

    async def retry_now(self, job_id: str) -> bool:
        return bool(await self.rows("reschedule", {"id": job_id, "when": None}))

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        if limit <= 0:
            return RescueResult()
        rows = await self.rows("rescue_expired", {
            "limit": limit, "exhausted": max_attempts_reason, "lost": LEASE_LOST})
        outcomes = [row["outcome"] for row in rows]
        return RescueResult(requeued=outcomes.count("requeued"), failed=outcomes.count("failed"))

    # -- outbox ----------------------------------------------------------------------------
    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        sql = self.sql("trim_outbox")

        def work(cur: Any) -> int:
            cur.execute(sql, {"seqs": json.dumps(list(seqs))})
            return int(cur.rowcount)

        return await self.transaction(work)

    async def sync_colocated(self, limit: int) -> int:
        if not self.capabilities.colocated_sync:
            return await super().sync_colocated(limit)
        rows = await self.rows("sync_colocated", {"limit": limit, "agent": self.agent_name})
        return int(rows[-1]["synced"]) if rows else 0
