"""MySQL/MariaDB agent transport: batch claims with ``FOR UPDATE SKIP LOCKED``, several short
statements per operation inside one transaction (the server has no UPDATE ... RETURNING).

Outbox events are written only for finished attempts and for jobs leaving the agent; enqueue,
claim, release and reschedule change the job row alone (the agent is the source of truth for
its in-flight jobs)."""

from __future__ import annotations

import json
import uuid
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
    JobStatus,
    LeaseRef,
    NewJob,
    RescueResult,
)
from .._sqlcommon.rows import LEASE_LOST, claimed_from, db_time
from .._sqlcommon.views import SqlAgentViews
from .codec import DOCUMENTS, json_batches, result_json
from .connection import MYSQL_CAPABILITIES, Cursor, MysqlStore


class MysqlAgent(MysqlStore, SqlAgentViews, AgentTransport):
    """Agent transport on MySQL/MariaDB (tables ``{prefix}agent_job``, ``{prefix}agent_outbox``)."""

    role = "agent"

    def __init__(self, spec: BackendSpec, agent_name: str, *, pool_role: str = "agent",
                 colocated_master: bool = False) -> None:
        super().__init__(spec, pool_role=pool_role)
        self.agent_name = agent_name
        self.capabilities = replace(MYSQL_CAPABILITIES, colocated_sync=colocated_master)

    async def _rows(self, cur: Cursor, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        await cur.execute(self.q[name], params)
        rows: list[dict[str, Any]] = await cur.fetchall()
        return rows

    # -- enqueue ----------------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        return await self.transaction(lambda cur: self._enqueue(cur, jobs))

    async def _enqueue(self, cur: Cursor, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        keys = tuple({j.idempotency_key for j in jobs if j.idempotency_key}) or ("",)
        found = await self._rows(cur, "find_pending_keys",
                                 {"keys": keys, "ids": tuple(j.id for j in jobs)})
        held: dict[str, str] = {}
        for row in found:
            held.setdefault(row["idempotency_key"], row["job_id"])
        taken = {row["job_id"] for row in found if row["src"] == 2}
        results: list[EnqueueResult] = []
        fresh: list[NewJob] = []
        for job in jobs:
            existing = held.get(job.idempotency_key) if job.idempotency_key else None
            if existing is not None or job.id in taken:
                results.append(EnqueueResult(existing or job.id, False))
                continue
            fresh.append(job)
            taken.add(job.id)
            if job.idempotency_key:
                held[job.idempotency_key] = job.id
            results.append(EnqueueResult(job.id, True))
        for batch in json_batches(DOCUMENTS.job(job) for job in fresh):
            await cur.execute(self.q["enqueue"], {"jobs": batch})
        return results

    # -- claim, leases, completion ----------------------------------------------------------
    async def claim(self, worker_id: str, *, lanes: Sequence[str] | None,
                    definitions: Sequence[str], limit: int, lease: timedelta) -> list[ClaimedJob]:
        if limit <= 0 or not definitions or (lanes is not None and not lanes):
            return []
        params = {"definitions": tuple(definitions), "all_lanes": lanes is None,
                  "lanes": tuple(lanes or ("",)), "limit": limit}
        return await self.transaction(lambda cur: self._claim(cur, worker_id, params, lease))

    async def _claim(self, cur: Cursor, worker_id: str, params: dict[str, Any],
                     lease: timedelta) -> list[ClaimedJob]:
        rows = await self._rows(cur, "claim", params)
        if not rows:
            return []
        now = rows[0]["now"]
        expires = now + lease
        token = uuid.uuid4().hex + ":"
        ids = tuple(row["id"] for row in rows)
        await cur.execute(self.q["claim_update"], {"worker": worker_id, "token": token,
                                                   "expires": expires, "now": now, "ids": ids})
        return [claimed_from(row, attempt=row["attempt"] + 1, lease_token=token + row["id"],
                             lease_expires_at=expires) for row in rows]

    async def _lock(self, cur: Cursor, leases: Sequence[LeaseRef],
                    owner: str | None = None) -> tuple[list[dict[str, Any]], Any]:
        """Lock the rows whose lease is still held; returns them and the server's now."""
        tokens = {ref.job_id: ref.lease_token for ref in leases}
        rows = await self._rows(cur, "lock_leases", {"ids": tuple(tokens)})
        held = [r for r in rows if r["lease_token"] == tokens[r["id"]]
                and (owner is None or r["lease_owner"] == owner)]
        return held, rows[0]["now"] if rows else None

    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        if not leases:
            return LeaseExtension(frozenset())
        return await self.transaction(lambda cur: self._extend(cur, worker_id, leases, lease))

    async def _extend(self, cur: Cursor, worker_id: str, leases: Sequence[LeaseRef],
                      lease: timedelta) -> LeaseExtension:
        held, now = await self._lock(cur, leases, worker_id)
        if not held:
            return LeaseExtension(frozenset())
        ids = tuple(r["id"] for r in held)
        await cur.execute(self.q["extend_leases"], {"expires": now + lease, "ids": ids})
        return LeaseExtension(frozenset(ids),
                              frozenset(r["id"] for r in held if r["cancel_requested"]))

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        if not results:
            return set()
        return await self.transaction(lambda cur: self._finish(cur, results))

    async def _finish(self, cur: Cursor, results: Sequence[AttemptResult]) -> set[str]:
        held, now = await self._lock(cur, [LeaseRef(r.job_id, r.lease_token) for r in results])
        matched = {r["id"] for r in held}
        accepted = {r.job_id: r for r in results if r.job_id in matched}
        if not accepted:
            return set()
        params = [result_json(r) for r in accepted.values()]
        for batch in json_batches(params):
            await cur.execute(self.q["finish"], {"results": batch, "now": now})
        done = tuple(r.job_id for r in accepted.values() if r.retry_delay is None)
        if done:
            await cur.execute(self.q["delete_jobs"], {"ids": done})
        retried = [p for p in params if p["retry_us"] is not None]
        for batch in json_batches(retried):
            await cur.execute(self.q["finish_retry"], {"results": batch, "now": now})
        return set(accepted)

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        if not leases:
            return 0
        return await self.transaction(lambda cur: self._release(cur, leases))

    async def _release(self, cur: Cursor, leases: Sequence[LeaseRef]) -> int:
        held, _ = await self._lock(cur, leases)
        ids = tuple(r["id"] for r in held)
        if ids:
            await cur.execute(self.q["release"], {"ids": ids})
        return len(ids)

    # -- cancel, reschedule, rescue ---------------------------------------------------------
    async def cancel(self, job_id: str) -> CancelOutcome:
        return await self.transaction(lambda cur: self._cancel(cur, job_id))

    async def _cancel(self, cur: Cursor, job_id: str) -> CancelOutcome:
        rows = await self._rows(cur, "lock_job", {"id": job_id})
        if not rows:
            return CancelOutcome.NOT_FOUND
        if rows[0]["status"] == JobStatus.PROCESSING.value:
            await cur.execute(self.q["cancel_running"], {"id": job_id})
            return CancelOutcome.REQUESTED
        await cur.execute(self.q["cancel_queued"], {"id": job_id, "now": rows[0]["now"]})
        await cur.execute(self.q["delete_jobs"], {"ids": (job_id,)})
        return CancelOutcome.CANCELLED

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        return await self.transaction(lambda cur: self._reschedule(cur, job_id, when))

    async def retry_now(self, job_id: str) -> bool:
        return await self.transaction(lambda cur: self._reschedule(cur, job_id, None))

    async def _reschedule(self, cur: Cursor, job_id: str, when: datetime | None) -> bool:
        rows = await self._rows(cur, "lock_job", {"id": job_id})
        if not rows or rows[0]["status"] != JobStatus.QUEUED.value:
            return False
        await cur.execute(self.q["reschedule"],
                          {"id": job_id, "when": db_time(when), "now": rows[0]["now"]})
        return True

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        if limit <= 0:
            return RescueResult()
        return await self.transaction(lambda cur: self._rescue(cur, limit, max_attempts_reason))

    async def _rescue(self, cur: Cursor, limit: int, reason: str) -> RescueResult:
        rows = await self._rows(cur, "rescue_expired", {"limit": limit})
        if not rows:
            return RescueResult()
        params = {"ids": tuple(r["id"] for r in rows), "now": rows[0]["now"],
                  "exhausted": reason, "lost": LEASE_LOST}
        await cur.execute(self.q["rescue_events"], params)
        failed = await cur.execute(self.q["rescue_fail"], params)
        requeued = await cur.execute(self.q["rescue_requeue"], params)
        return RescueResult(requeued=requeued, failed=failed)

    # -- outbox ----------------------------------------------------------------------------
    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        return await self.execute("trim_outbox", {"seqs": json.dumps(list(seqs))})

    async def sync_colocated(self, limit: int) -> int:
        if not self.capabilities.colocated_sync:
            return await super().sync_colocated(limit)
        return await self.transaction(lambda cur: self._sync_colocated(cur, limit))

    async def _sync_colocated(self, cur: Cursor, limit: int) -> int:
        # Exactly the locked seqs are copied and deleted: an event committed later with a lower
        # seq is picked up by the next pass, never trimmed unseen.
        rows = await self._rows(cur, "sync_colocated_lock", {"limit": limit})
        if not rows:
            return 0
        params = {"seqs": tuple(r["seq"] for r in rows), "agent": self.agent_name}
        await cur.execute(self.q["sync_colocated"], params)
        await cur.execute(self.q["sync_colocated_attempts"], params)
        await cur.execute(self.q["sync_colocated_trim"], params)
        return len(rows)

