"""MySQL/MariaDB agent transport: batch claims with ``FOR UPDATE SKIP LOCKED``, several short
statements per operation inside one transaction (the server has no UPDATE ... RETURNING).

Outbox events are written only for finished attempts and for jobs leaving the agent; enqueue,
claim, release and reschedule change the job row alone (the agent is the source of truth for
its in-flight jobs)."""

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
    EnqueueResult,
    JobStatus,
    LeaseRef,
    NewJob,
    RescueResult,
)
from .._common import sort_out_new
from .._sqlcommon.rows import LEASE_LOST, db_time
from .._sqlcommon.views import SqlAgentViews
from .claims import MysqlClaims
from .codec import DOCUMENTS, json_batches, micros, result_json
from .connection import MYSQL_CAPABILITIES, Cursor
from .due import MysqlDueTimes


class MysqlAgent(MysqlClaims, MysqlDueTimes, SqlAgentViews, AgentTransport):
    """Agent transport on MySQL/MariaDB (tables ``{prefix}agent_job``, ``{prefix}agent_outbox``)."""

    role = "agent"

    def __init__(self, spec: BackendSpec, agent_name: str, *, pool_role: str = "agent",
                 colocated_master: bool = False) -> None:
        super().__init__(spec, pool_role=pool_role)
        self.agent_name = agent_name
        self.capabilities = replace(MYSQL_CAPABILITIES, colocated_sync=colocated_master)

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
        results, fresh = sort_out_new(jobs, held, taken)
        for batch in json_batches(DOCUMENTS.job(job) for job in fresh):
            await cur.execute(self.q["enqueue"], {"jobs": batch})
        return results

    # -- leases, completion -----------------------------------------------------------------
    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        if not leases:
            return LeaseExtension(frozenset())
        ordered = sorted(leases, key=lambda ref: ref.job_id)  # rows are locked in id order
        chunks = [{**_fence(ordered[at:at + RENEWALS_PER_STATEMENT]), "worker": worker_id,
                   "lease_us": micros(lease)}
                  for at in range(0, len(ordered), RENEWALS_PER_STATEMENT)]
        # Few attempts: the lease keeper gives up on a renewal after lease/3 anyway.
        return await self.transaction(lambda cur: self._extend(cur, chunks), attempts=3)

    async def _extend(self, cur: Cursor, chunks: list[dict[str, Any]]) -> LeaseExtension:
        held: set[str] = set()
        cancel: set[str] = set()
        for params in chunks:
            await cur.execute(self.q["extend_leases"], params)
            for row in await self._rows(cur, "renewed_leases", params):
                held.add(row["id"])
                if row["cancel_requested"]:
                    cancel.add(row["id"])
        return LeaseExtension(frozenset(held), frozenset(cancel))

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        if not results:
            return set()
        # One result per job, in id order (the order rows are locked in).
        ordered = sorted({r.job_id: r for r in results}.values(), key=lambda r: r.job_id)
        if all(r.retry_delay is None for r in ordered):
            unlocked = (self._finish_colocated if self.capabilities.colocated_sync
                        else self._finish_unlocked)
            try:
                return await self.transaction(lambda cur: unlocked(cur, ordered))
            except _LeaseChanged:
                pass  # a lease moved meanwhile: find out which, with the rows locked
        return await self.transaction(lambda cur: self._finish(cur, ordered))

    async def _finish_unlocked(self, cur: Cursor, results: Sequence[AttemptResult]) -> set[str]:
        """The usual batch (every job done, every lease still held) in one pass less: the events
        are copied from a plain read of the rows, then the rows are deleted under the same
        fence. A token never comes back, so equal counts mean the two saw the same rows;
        otherwise the transaction is rolled back and the locking path decides."""
        fence = _fence(results)
        copied = 0
        for batch in json_batches(result_json(r) for r in results):
            # now=None: the statement's own clock (no job of the batch is retried).
            copied += await cur.execute(self.q["finish"], {"results": batch, "now": None,
                                                           "tokens": fence["tokens"]})
        if copied != len(results):
            raise _LeaseChanged
        if await cur.execute(self.q["finish_delete"], fence) != copied:
            raise _LeaseChanged
        return {r.job_id for r in results}

    async def _finish_colocated(self, cur: Cursor, results: Sequence[AttemptResult]) -> set[str]:
        """:meth:`_finish_unlocked` of a standalone cluster: the history goes straight into the
        master tables of the same database (what the outbox and ``sync_colocated`` would do a
        moment later), then the rows are deleted under the fence. Every row deleted had its
        token when it was copied (a token never comes back), so equal counts prove the copy."""
        fence = _fence(results)
        for batch in json_batches(result_json(r) for r in results):
            params = {"results": batch, "tokens": fence["tokens"], "agent": self.agent_name}
            await cur.execute(self.q["finish_colocated"], params)
            await cur.execute(self.q["finish_colocated_attempts"], params)
        if await cur.execute(self.q["finish_delete"], fence) != len(results):
            raise _LeaseChanged
        return {r.job_id for r in results}

    async def _finish(self, cur: Cursor, results: Sequence[AttemptResult]) -> set[str]:
        tokens = {r.job_id: r.lease_token for r in results}
        rows = await self._rows(cur, "lock_leases", {"ids": tuple(tokens)})
        accepted = {r["id"] for r in rows if r["lease_token"] == tokens[r["id"]]}
        if not accepted:
            return set()
        now = rows[0]["now"]
        params = [result_json(r) for r in results if r.job_id in accepted]
        fenced = tuple(tokens[job_id] for job_id in accepted)
        for batch in json_batches(params):
            await cur.execute(self.q["finish"], {"results": batch, "now": now, "tokens": fenced})
        done = tuple(p["id"] for p in params if p["retry_us"] is None)
        if done:
            await cur.execute(self.q["delete_jobs"], {"ids": done})
        retried = [p for p in params if p["retry_us"] is not None]
        for batch in json_batches(retried):
            await cur.execute(self.q["finish_retry"], {"results": batch, "now": now})
        return accepted

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        if not leases:
            return 0
        return await self.execute("release", _fence(leases))

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


#: Leases renewed by one statement: its two lists stay far below ``max_allowed_packet`` however
#: many leases a worker holds.
RENEWALS_PER_STATEMENT = 5000


class _LeaseChanged(Exception):
    """A lease of the batch changed between the plain read and the fenced delete."""


def _fence(leases: Sequence[LeaseRef] | Sequence[AttemptResult]) -> dict[str, Any]:
    """The ids and tokens of leases for ``id IN %(ids)s AND lease_token IN %(tokens)s``. A token
    ends with its job's id and is never given twice, so the two lists fence each row exactly as
    the pairs would."""
    return {"ids": tuple(sorted({item.job_id for item in leases})),
            "tokens": tuple({item.lease_token for item in leases})}
