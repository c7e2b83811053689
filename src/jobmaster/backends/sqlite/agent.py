"""SQLite agent transport: in-flight jobs and their outbox in one file."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ...abc import AgentTransport, LeaseExtension
from ...model import (
    AttemptOutcome,
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    EnqueueResult,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    LeaseRef,
    NewJob,
    RescueResult,
)
from .._common import info_from_event, outcome_to_status, page_of, sort_out_new
from .codec import (
    Row,
    attempt_row,
    claimed_from,
    event_from,
    filtered_query,
    job_event,
    later,
    live_info,
    new_row,
    now_ts,
    ts,
)
from .connection import SQLITE_CAPABILITIES, SqliteStore
from .due import SqliteDueTimes

Conn = sqlite3.Connection
_QUEUED = JobStatus.QUEUED.value


class SqliteAgent(SqliteStore, SqliteDueTimes, AgentTransport):
    """Agent transport on the SQLite file ``path`` (tables ``{prefix}agent_job`` and
    ``{prefix}agent_outbox``), serving the agent connection ``agent_name``."""

    def __init__(self, path: str, *, agent_name: str = "standalone", prefix: str = "jm_",
                 colocated_master: bool = False) -> None:
        super().__init__(path, prefix, "agent")
        self.agent_name = agent_name
        if colocated_master:
            # The master uses the same file and prefix: sync is one server-side transaction.
            self.capabilities = replace(SQLITE_CAPABILITIES, colocated_sync=True)

    # -- enqueue and claim ------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        return await self._db.write(lambda conn: self._enqueue(conn, jobs))

    def _enqueue(self, conn: Conn, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        now = now_ts()
        taken = {r[0] for r in conn.execute(self._q["existing_ids"],
                                            (json.dumps([j.id for j in jobs]),))}
        held: dict[str, str] = {}
        keys = [j.idempotency_key for j in jobs if j.idempotency_key]
        if keys:
            for key, job_id, _ in conn.execute(self._q["find_pending_keys"],
                                               {"keys": json.dumps(keys)}):
                held.setdefault(key, job_id)
        results, fresh = sort_out_new(jobs, held, taken)
        conn.executemany(self._q["enqueue"], [new_row(job, now) for job in fresh])
        return results

    async def claim(self, worker_id: str, *, lanes: Sequence[str] | None,
                    definitions: Sequence[str], limit: int, lease: timedelta) -> list[ClaimedJob]:
        if limit <= 0 or not definitions:
            return []
        params = {"definitions": json.dumps(list(definitions)), "limit": limit,
                  "lanes": None if lanes is None else json.dumps(list(lanes))}
        return await self._db.write(lambda conn: self._claim(conn, worker_id, params, lease))

    def _claim(self, conn: Conn, worker_id: str, params: Row, lease: timedelta,
               ) -> list[ClaimedJob]:
        now = now_ts()
        rows = [dict(r) for r in conn.execute(self._q["claim"],
                                              {**params, "now": now})]
        if not rows:
            return []
        expires = later(now, lease)
        for row in rows:
            row.update(status="processing", attempt=row["attempt"] + 1,
                       version=row["version"] + 1, lease_owner=worker_id,
                       lease_token=uuid.uuid4().hex, lease_expires_at=expires, started_at=now)
        conn.executemany(self._q["claim_update"], rows)
        return [claimed_from(row) for row in rows]

    # -- leases -----------------------------------------------------------------------------
    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        if not leases:
            return LeaseExtension(frozenset())
        return await self._db.write(lambda conn: self._extend(conn, leases, lease))

    def _extend(self, conn: Conn, leases: Sequence[LeaseRef], lease: timedelta,
                ) -> LeaseExtension:
        wanted = {(ref.job_id, ref.lease_token) for ref in leases}
        ids = json.dumps([ref.job_id for ref in leases])
        held: set[str] = set()
        cancel: set[str] = set()
        for job_id, token, cancel_requested in conn.execute(self._q["extend_leases"], (ids,)):
            if (job_id, token) in wanted:
                held.add(job_id)
                if cancel_requested:
                    cancel.add(job_id)
        expires = later(now_ts(), lease)
        conn.executemany(self._q["extend_leases_update"], [(expires, job_id) for job_id in held])
        return LeaseExtension(frozenset(held), frozenset(cancel))

    def _held(self, conn: Conn, leases: Sequence[LeaseRef]) -> dict[str, Row]:
        ids = json.dumps([ref.job_id for ref in leases])
        return {r["id"]: dict(r) for r in conn.execute(self._q["held_rows"], (ids,))}

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        if not results:
            return set()
        return await self._db.write(lambda conn: self._finish(conn, results))

    def _finish(self, conn: Conn, results: Sequence[AttemptResult]) -> set[str]:
        now = now_ts()
        rows = self._held(conn, [LeaseRef(r.job_id, r.lease_token) for r in results])
        requeued: list[Row] = []
        deleted: list[tuple[str]] = []
        events: list[Row] = []
        for res in results:
            row = rows.get(res.job_id)
            if row is None or row["lease_token"] != res.lease_token:
                continue
            del rows[res.job_id]
            row["version"] += 1
            if res.error is not None:
                row["last_error"] = res.error
            attempt = attempt_row(row["attempt"], ts(res.started_at), ts(res.finished_at),
                                  res.worker_id, res.outcome, res.error, res.traceback)
            if res.retry_delay is not None:
                row["scheduled_at"] = later(now, res.retry_delay)
                requeued.append(row)
                events.append(job_event(row, JobStatus.QUEUED, self.agent_name, attempt=attempt))
            else:
                deleted.append((res.job_id,))
                events.append(job_event(row, outcome_to_status(res.outcome), self.agent_name,
                                        attempt=attempt, finished_at=now))
        conn.executemany(self._q["requeue"], requeued)
        conn.executemany(self._q["delete_job"], deleted)
        conn.executemany(self._q["insert_events"], events)
        return {event["job_id"] for event in events}

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        if not leases:
            return 0
        return await self._db.write(lambda conn: self._release(conn, leases))

    def _release(self, conn: Conn, leases: Sequence[LeaseRef]) -> int:
        rows = self._held(conn, leases)
        released: list[Row] = []
        for ref in leases:
            row = rows.get(ref.job_id)
            if row is None or row["lease_token"] != ref.lease_token:
                continue
            del rows[ref.job_id]
            row["attempt"] -= 1
            row["version"] += 1
            released.append(row)
        conn.executemany(self._q["requeue"], released)
        return len(released)

    # -- cancel, move, rescue ---------------------------------------------------------------
    async def cancel(self, job_id: str) -> CancelOutcome:
        return await self._db.write(lambda conn: self._cancel(conn, job_id))

    def _cancel(self, conn: Conn, job_id: str) -> CancelOutcome:
        found = conn.execute(self._q["get_live_job"], (job_id,)).fetchone()
        if found is None:
            return CancelOutcome.NOT_FOUND
        if found["status"] == JobStatus.PROCESSING.value:
            conn.execute(self._q["cancel_running"], (job_id,))
            return CancelOutcome.REQUESTED
        row = dict(found)
        row["version"] += 1
        conn.execute(self._q["delete_job"], (job_id,))
        conn.execute(self._q["insert_events"], job_event(
            row, JobStatus.CANCELLED, self.agent_name, finished_at=now_ts()))
        return CancelOutcome.CANCELLED

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        return await self._db.write(lambda conn: self._reschedule(conn, job_id, ts(when)))

    async def retry_now(self, job_id: str) -> bool:
        return await self._db.write(lambda conn: self._reschedule(conn, job_id, None))

    def _reschedule(self, conn: Conn, job_id: str, when: float | None) -> bool:
        found = conn.execute(self._q["get_live_job"], (job_id,)).fetchone()
        if found is None or found["status"] != _QUEUED:
            return False
        row = dict(found)
        row["scheduled_at"] = now_ts() if when is None else when
        row["version"] += 1
        conn.execute(self._q["reschedule"], row)
        return True

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        if limit <= 0:
            return RescueResult()
        return await self._db.write(lambda conn: self._rescue(conn, limit, max_attempts_reason))

    def _rescue(self, conn: Conn, limit: int, reason: str) -> RescueResult:
        now = now_ts()
        requeued: list[Row] = []
        failed: list[tuple[str]] = []
        events: list[Row] = []
        for found in conn.execute(self._q["rescue_expired"], (now, limit)).fetchall():
            row = dict(found)
            row["version"] += 1
            exhausted = row["attempt"] > row["max_retries"]
            row["last_error"] = reason if exhausted else "lease expired: worker lost"
            attempt = attempt_row(row["attempt"], row["started_at"] or now, now,
                                  row["lease_owner"], AttemptOutcome.ABANDONED, row["last_error"])
            if exhausted:
                failed.append((row["id"],))
                events.append(job_event(row, JobStatus.FAILED, self.agent_name, attempt=attempt,
                                        finished_at=now))
            else:
                row["scheduled_at"] = now
                requeued.append(row)
                events.append(job_event(row, JobStatus.QUEUED, self.agent_name, attempt=attempt))
        conn.executemany(self._q["requeue"], requeued)
        conn.executemany(self._q["delete_job"], failed)
        conn.executemany(self._q["insert_events"], events)
        return RescueResult(requeued=len(requeued), failed=len(failed))

    # -- views and outbox -------------------------------------------------------------------
    async def get_job(self, job_id: str) -> JobInfo | None:
        found = await self._db.read(
            lambda conn: conn.execute(self._q["get_live_job"], (job_id,)).fetchone())
        if found is not None:
            return live_info(found, self.agent_name)
        pending = await self._db.read(
            lambda conn: conn.execute(self._q["get_pending_final"], (job_id,)).fetchone())
        if pending is None:
            return None
        event = event_from(pending)
        return info_from_event(event, [event.attempt] if event.attempt else [])

    async def list_jobs(self, query: JobQuery) -> JobPage:
        sql, params = filtered_query(self._q["list_live_jobs"], query)
        rows = await self._db.read(lambda conn: conn.execute(sql, params).fetchall())
        return page_of([live_info(row, self.agent_name) for row in rows], query.limit)

    async def read_outbox(self, limit: int) -> list[JobEvent]:
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["read_outbox"], (limit,)).fetchall())
        return [event_from(row) for row in rows]

    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        return await self._db.write(
            lambda conn: conn.execute(self._q["trim_outbox"], (json.dumps(list(seqs)),)).rowcount)

    async def queue_depth(self) -> dict[str, int]:
        rows = await self._db.read(
            lambda conn: conn.execute(self._q["queue_depth"]).fetchall())
        return {lane: count for lane, count in rows}

    async def sync_colocated(self, limit: int) -> int:
        if not self.capabilities.colocated_sync:
            return await super().sync_colocated(limit)
        return await self._db.write(lambda conn: self._sync_colocated(conn, limit))

    def _sync_colocated(self, conn: Conn, limit: int) -> int:
        upto, count = conn.execute(self._q["sync_colocated_upto"], (limit,)).fetchone()
        if not count:
            return 0
        conn.execute(self._q["sync_colocated"], (upto,))
        conn.execute(self._q["sync_colocated_attempts"], (upto,))
        # Safe by sequence here: SQLite has one writer, so nothing can commit in between.
        conn.execute(self._q["trim_outbox_upto"], (upto,))
        return int(count)
