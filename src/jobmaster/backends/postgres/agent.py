"""PostgreSQL agent transport: ``FOR UPDATE SKIP LOCKED`` batch claims, coalesced NOTIFY."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ...abc import AgentTransport, LeaseExtension, WakeUp
from ...config import BackendSpec
from ...model import (
    Attempt,
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
    TriggerSource,
)
from .._common import (
    OUTBOX_POSTGRES_COPY,
    decode_bag,
    decode_cursor,
    info_from_event,
    is_uuid,
    page_of,
)
from .connection import (
    AGENT_SESSION_SETTINGS,
    POSTGRES_CAPABILITIES,
    PostgresStore,
)
from .due import PostgresDueTimes
from .rows import event_from_outbox_row, new_job_columns

log = logging.getLogger("jobmaster.postgres")

#: Enqueues within this window share one NOTIFY (plus one trailing NOTIFY at its end).
NOTIFY_WINDOW = 0.002
#: Bulk enqueues of at least this many plain jobs use COPY.
COPY_THRESHOLD = 64
_COPY_COLUMNS = ["id", "definition_id", "lane", "priority", "msg_data", "metadata",
                 "max_retries", "timeout_ms", "backoff", "schedule_id", "trigger_source"]


_TRIGGERS = {trigger.value: trigger for trigger in TriggerSource}


class PostgresAgent(PostgresStore, PostgresDueTimes, AgentTransport):
    """Agent transport on PostgreSQL."""

    role = "agent"
    session_settings = AGENT_SESSION_SETTINGS
    fast_writes = True
    outbox_export_format = OUTBOX_POSTGRES_COPY

    def __init__(
        self,
        spec: BackendSpec,
        agent_name: str,
        *,
        pool_role: str = "agent",
        colocated_master: bool = False,
    ) -> None:
        super().__init__(spec, pool_role=pool_role)
        self.agent_name = agent_name
        self.capabilities = POSTGRES_CAPABILITIES
        if colocated_master:
            from dataclasses import replace

            self.capabilities = replace(POSTGRES_CAPABILITIES, colocated_sync=True)
        self.channel = f"{spec.table_prefix}jobs"
        self._last_notify = 0.0
        self._trailing: asyncio.TimerHandle | None = None
        self._listener: asyncpg.Connection | None = None
        self._wake_ups: list[WakeUp] = []
        self._closing = False
        self._reconnect_task: asyncio.Future[None] | None = None

    async def close(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        if self._trailing is not None:
            self._trailing.cancel()
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                await listener.close(timeout=5)
            except Exception:
                listener.terminate()
        await super().close()

    # -- wake-ups ---------------------------------------------------------------------------
    def _claim_notify(self) -> bool:
        """Coalesced NOTIFY: True when this write should notify (at most one per window); else
        a single trailing NOTIFY is scheduled at the end of the window."""
        now = time.monotonic()
        if now - self._last_notify >= NOTIFY_WINDOW:
            self._last_notify = now
            return True
        if self._trailing is None:
            delay = NOTIFY_WINDOW - (now - self._last_notify)
            self._trailing = asyncio.get_running_loop().call_later(delay, self._fire_trailing)
        return False

    async def _notify(self) -> None:
        if self._claim_notify():
            await self.pool.execute(self.q["notify"], self.channel)

    def _fire_trailing(self) -> None:
        self._trailing = None
        self._last_notify = time.monotonic()
        task = asyncio.ensure_future(self.pool.execute(self.q["notify"], self.channel))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def listen(self, wake_up: WakeUp) -> None:
        self._wake_ups.append(wake_up)
        if self._listener is None:
            await self._connect_listener()

    async def _connect_listener(self) -> None:
        listener = await asyncpg.connect(
            self.spec.target, server_settings={"application_name": "jobmaster-listen"})
        await listener.add_listener(self.channel, lambda *_: self._wake_all())
        listener.add_termination_listener(lambda _: self._listener_lost())
        self._listener = listener

    def _wake_all(self) -> None:
        for wake_up in self._wake_ups:
            wake_up()

    def _listener_lost(self) -> None:
        """The LISTEN connection died (server restart): poll meanwhile, reconnect with backoff."""
        if self._listener is None or self._closing:
            return
        self._listener = None
        self._wake_all()
        self._reconnect_task = asyncio.ensure_future(self._reconnect_listener())

    async def _reconnect_listener(self) -> None:
        delay = 0.2
        while not self._closing and self._listener is None:
            try:
                await self._connect_listener()
                log.info("wake-up listener of %s reconnected", self.location)
                self._wake_all()  # jobs may have arrived while it was down
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("wake-up listener of %s: %s; retrying in %.1fs", self.location, exc,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- enqueue ----------------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if len(jobs) >= COPY_THRESHOLD and all(
            j.idempotency_key is None and j.scheduled_at is None for j in jobs
        ):
            return await self._copy(jobs)
        rows = await self.pool.fetch(
            self.q["enqueue"],
            *new_job_columns(jobs),
            self.channel, self._claim_notify(),
        )
        created = {row[0] for row in rows if row[0] is not None}
        if len(created) == len(jobs):
            return [EnqueueResult(j.id, True) for j in jobs]
        return await self._resolve_duplicates(jobs, created)

    async def _copy(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        """Bulk enqueue with COPY: due now (the database's clock), no idempotency keys."""
        records = [
            (j.id, j.definition_id, j.lane, j.priority, j.msg_data, j.metadata, j.max_retries,
             j.timeout_ms, j.backoff, j.schedule_id, j.trigger.value)
            for j in jobs
        ]
        async with self.pool.acquire() as conn:
            await conn.copy_records_to_table(
                f"{self.prefix}agent_job", records=records, columns=_COPY_COLUMNS)
        await self._notify()
        return [EnqueueResult(j.id, True) for j in jobs]

    async def _resolve_duplicates(
        self, jobs: Sequence[NewJob], created: set[str]
    ) -> list[EnqueueResult]:
        keys = [j.idempotency_key for j in jobs if j.id not in created and j.idempotency_key]
        holders: dict[str, str] = {}
        if keys:
            holders = {row[0]: row[1] for row in await self.pool.fetch(self.q["find_pending_keys"], keys)}
        results = []
        for job in jobs:
            if job.id in created:
                results.append(EnqueueResult(job.id, True))
            else:
                existing = holders.get(job.idempotency_key) if job.idempotency_key else None
                results.append(EnqueueResult(existing or job.id, False))
        return results

    # -- claim, leases, completion ----------------------------------------------------------
    async def claim(
        self,
        worker_id: str,
        *,
        lanes: Sequence[str] | None,
        definitions: Sequence[str],
        limit: int,
        lease: timedelta,
    ) -> list[ClaimedJob]:
        lane_filter: str | list[str] | None
        if lanes is not None and len(lanes) == 1:
            query, lane_filter = self.q["claim_lane"], lanes[0]
        else:
            query, lane_filter = self.q["claim"], list(lanes) if lanes is not None else None
        rows = await self.fast_pool.fetch(query, worker_id, list(definitions), lane_filter,
                                          limit, lease)
        return [
            ClaimedJob(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                r[12],
                r[13],
                r[14],
                _TRIGGERS[r[15]],
            )
            for r in rows
        ]

    async def extend_leases(
        self, worker_id: str, leases: Sequence[LeaseRef], lease: timedelta
    ) -> LeaseExtension:
        leases = [ref for ref in leases if is_uuid(ref.job_id)]
        rows = await self.fast_pool.fetch(
            self.q["extend_leases"],
            worker_id,
            [ref.job_id for ref in leases],
            [ref.lease_token for ref in leases],
            lease,
        )
        return LeaseExtension(frozenset(r[0] for r in rows), frozenset(r[0] for r in rows if r[1]))

    async def finish(self, results: Sequence[AttemptResult]) -> set[str]:
        results = [r for r in results if is_uuid(r.job_id)]
        rows = await self.fast_pool.fetch(
            self.q["finish"],
            [r.job_id for r in results],
            [r.lease_token for r in results],
            [r.outcome.value for r in results],
            [r.worker_id for r in results],
            [r.started_at for r in results],
            [r.finished_at for r in results],
            _nulls_as_empty([r.error for r in results]),
            _nulls_as_empty([r.traceback for r in results]),
            _nulls_as_empty([r.retry_delay.total_seconds() if r.retry_delay is not None else None
                             for r in results]),
        )
        if any(r.retry_delay is not None for r in results):
            await self._notify()
        return {row[0] for row in rows}

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        leases = [ref for ref in leases if is_uuid(ref.job_id)]
        count: int = await self.fast_pool.fetchval(
            self.q["release"], [r.job_id for r in leases], [r.lease_token for r in leases]
        )
        if count:
            await self._notify()
        return count

    # -- cancel, reschedule, rescue ---------------------------------------------------------
    async def cancel(self, job_id: str) -> CancelOutcome:
        if not is_uuid(job_id):
            return CancelOutcome.NOT_FOUND
        if await self.pool.fetchval(self.q["cancel_queued"], job_id):
            return CancelOutcome.CANCELLED
        if await self.pool.fetchval(self.q["cancel_running"], job_id):
            return CancelOutcome.REQUESTED
        return CancelOutcome.NOT_FOUND

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        if not is_uuid(job_id):
            return False
        moved = bool(await self.pool.fetchval(self.q["reschedule"], job_id, when))
        if moved:
            await self._notify()
        return moved

    async def retry_now(self, job_id: str) -> bool:
        if not is_uuid(job_id):
            return False
        moved = bool(await self.pool.fetchval(self.q["reschedule"], job_id, None))
        if moved:
            await self._notify()
        return moved

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        row = await self.fast_pool.fetchrow(
            self.q["rescue_expired"], limit, max_attempts_reason, "lease expired: worker lost"
        )
        assert row is not None
        result = RescueResult(requeued=row[0], failed=row[1])
        if result.requeued:
            await self._notify()
        return result

    # -- views and outbox -------------------------------------------------------------------
    async def get_job(self, job_id: str) -> JobInfo | None:
        if not is_uuid(job_id):
            return None
        row = await self.pool.fetchrow(self.q["get_live_job"], job_id)
        if row is not None:
            return _live_info(row, self.agent_name)
        pending = await self.pool.fetchrow(self.q["get_pending_final"], job_id)
        if pending is None:
            return None
        event = event_from_outbox_row(pending, self.agent_name)
        return info_from_event(event, [event.attempt] if event.attempt else [])

    async def list_jobs(self, query: JobQuery) -> JobPage:
        after_created, after_id = decode_cursor(query.cursor) if query.cursor else (None, None)
        rows = await self.pool.fetch(
            self.q["list_live_jobs"],
            query.status.value if query.status else None, query.definition_id, query.lane,
            query.schedule_id, query.created_from, query.created_to, after_created, after_id,
            query.limit + 1,
        )
        return page_of([_live_info(row, self.agent_name) for row in rows], query.limit)

    async def read_outbox(self, limit: int) -> list[JobEvent]:
        rows = await self.pool.fetch(self.q["read_outbox"], limit)
        return [event_from_outbox_row(row, self.agent_name) for row in rows]

    async def export_outbox(self, limit: int) -> bytes:
        chunks: list[bytes] = []

        async def collect(chunk: bytes) -> None:
            chunks.append(chunk)

        await self.pool.copy_from_query(self.q["export_outbox"], limit, output=collect,
                                        format="binary")
        return b"".join(chunks)

    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        status: str = await self.fast_pool.execute(self.q["trim_outbox"], list(seqs))
        return int(status.split()[-1])

    async def queue_depth(self) -> dict[str, int]:
        return {row[0]: row[1] for row in await self.pool.fetch(self.q["queue_depth"])}

    async def sync_colocated(self, limit: int) -> int:
        """Move the oldest events into the staging table and apply them like an imported batch
        (one transaction, nothing decoded in Python)."""
        async with self.fast_pool.acquire() as conn, conn.transaction():
            await conn.execute(self.q["create_outbox_stage"])
            await conn.execute(self.q["sync_colocated"], limit)
            row = await conn.fetchrow(self.q["apply_outbox_stage"], self.agent_name)
        assert row is not None
        return len(row[0])


def _nulls_as_empty(values: list[Any]) -> list[Any]:
    """``[]`` for a column of NULLs: ``unnest`` of several arrays pads the shorter ones with
    NULLs, and an empty list costs asyncpg no per-element work (the common case: no error)."""
    return [] if all(value is None for value in values) else values


def _live_info(row: Any, agent: str) -> JobInfo:
    from ...messages import MessageData, Metadata

    status = JobStatus(row["status"])
    attempts = []
    if status is JobStatus.PROCESSING and row["started_at"] is not None:
        attempts.append(
            Attempt(
                row["attempt"], row["started_at"], None, row["lease_owner"], AttemptOutcome.RUNNING
            )
        )
    return JobInfo(
        id=row["id"],
        status=status,
        definition_id=row["definition_id"],
        lane=row["lane"],
        priority=row["priority"],
        scheduled_at=row["scheduled_at"],
        created_at=row["created_at"],
        msg_data=decode_bag(MessageData, row["msg_data"]),
        metadata=decode_bag(Metadata, row["metadata"]),
        attempts=attempts,
        attempt_count=row["attempt"],
        max_retries=row["max_retries"],
        last_error=row["last_error"],
        schedule_id=row["schedule_id"],
        agent=agent,
        trigger=TriggerSource(row["trigger_source"]),
        idempotency_key=row["idempotency_key"],
        cancel_requested=row["cancel_requested"],
    )
