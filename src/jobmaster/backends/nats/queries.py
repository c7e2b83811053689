"""The NATS agent's cold paths: the in-flight view, cancel, reschedule and rescue.

The in-flight view joins two sources: the job's message in the ``JOBS`` stream (found by its
subject, which ends with the job id) and its state record, if any. Jobs that left the agent but
are not synced yet are read from the outbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import nats.js.errors

from ...messages import MessageData, Metadata
from ...model import (
    Attempt,
    AttemptOutcome,
    CancelOutcome,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatus,
    RescueResult,
)
from .._common import decode_bag, info_from_event, select_page
from .claims import abandoned
from .records import (
    CANCELLED,
    PROCESSING,
    QUEUED,
    JobBody,
    JobState,
    aware,
    epoch,
    make_event,
    now_epoch,
)

if TYPE_CHECKING:
    from .agent import NatsAgent

_MARKER_TTL = 600.0  # cancel markers no delivery can still meet are dropped after this
_OUTBOX_SCAN = 10_000  # messages of the outbox searched by get_job


class AgentQueries:
    """The cold-path operations of one :class:`NatsAgent` (which delegates to them)."""

    def __init__(self, agent: NatsAgent) -> None:
        self.agent = agent

    async def find_message(self, job_id: str) -> tuple[int, JobBody] | None:
        """The stream sequence and body of a job's message, if it is still in the stream."""
        try:
            msg = await self.agent.js.get_msg(self.agent.layout.jobs_stream, seq=1, next=True,
                                        subject=self.agent.layout.any_job_subject(job_id))
        except nats.js.errors.NotFoundError:
            return None
        return msg.seq or 0, JobBody.decode(msg.data or b"")

    async def _state(self, job_id: str) -> tuple[int, JobState] | None:
        found = await self.agent.state.get(self.agent.layout.state_subject(job_id))
        return (found[0], JobState.decode(found[1])) if found else None

    async def get_job(self, job_id: str) -> JobInfo | None:
        message, entry, cancel = await asyncio.gather(
            self.find_message(job_id), self._state(job_id),
            self.agent.state.get(self.agent.layout.cancel_subject(job_id)))
        if message is not None:
            live = _live(message, entry[1] if entry else None, self.agent.agent_name,
                         cancel is not None)
            if live is not None:
                return live
        for event in reversed(await self.agent.outbox.read(1 << 30, scan=_OUTBOX_SCAN)):
            if event.job_id == job_id and event.status.is_final:
                return info_from_event(event, [event.attempt] if event.attempt else [])
        return None

    async def list_jobs(self, query: JobQuery) -> JobPage:
        infos: list[JobInfo] = []
        seq = 1
        while True:
            try:
                msg = await self.agent.js.get_msg(self.agent.layout.jobs_stream, seq=seq, next=True,
                                            subject=f"{self.agent.layout.subject_root}.job.>")
            except nats.js.errors.NotFoundError:
                break
            body = JobBody.decode(msg.data or b"")
            seq = (msg.seq or 0) + 1
            if query.lane is not None and body.job.lane != query.lane:
                continue
            if query.schedule_id is not None and body.job.schedule_id != query.schedule_id:
                continue
            entry = await self._state(body.job.id)
            live = _live((msg.seq or 0, body), entry[1] if entry else None, self.agent.agent_name)
            if live is not None:
                infos.append(live)
        return select_page(iter(infos), query)

    async def queue_depth(self) -> dict[str, int]:
        depth: dict[str, int] = {}
        for info in await self.agent.js.consumers_info(self.agent.layout.jobs_stream):
            lane = info.config.description
            if lane is not None:
                depth[lane] = (depth.get(lane, 0) + (info.num_pending or 0)
                               + (info.num_ack_pending or 0))
        for _, _, state in await self._states():
            if state.kind == PROCESSING and state.lane in depth:
                depth[state.lane] -= 1
        return {lane: count for lane, count in depth.items() if count > 0}

    async def _states(self) -> list[tuple[str, int, JobState]]:
        """Every state record: (job id, revision, state)."""
        subjects = await self.agent.state.subjects(f"{self.agent.layout.subject_root}.state.>")
        found = await asyncio.gather(*(self.agent.state.get(s) for s in subjects))
        return [(subject.rsplit(".", 1)[1], entry[0], JobState.decode(entry[1]))
                for subject, entry in zip(subjects, found, strict=True) if entry]

    async def cancel(self, job_id: str) -> CancelOutcome:
        for _ in range(5):
            entry = await self._state(job_id)
            revision, state = entry if entry else (0, None)
            if state is not None and state.kind == CANCELLED:
                return CancelOutcome.NOT_FOUND
            subject = self.agent.layout.state_subject(job_id)
            if state is not None and state.kind == PROCESSING:
                # Kept apart from the state record, so the running attempt's fence holds.
                await self.agent.state.write(self.agent.layout.cancel_subject(job_id), b"1", None)
                return CancelOutcome.REQUESTED
            message = await self.find_message(job_id)
            if message is None:
                return CancelOutcome.NOT_FOUND
            version = (state.version if state else 1) + 1
            marker = JobState(CANCELLED, state.attempt if state else 0, version,
                              started_at=now_epoch(), error=state.error if state else None)
            if await self.agent.state.write(subject, marker.encode(), revision) is None:
                continue
            await self._delete_job_message(message[0])
            await self.agent.outbox.append([make_event(
                message[1], version=version, status=JobStatus.CANCELLED,
                attempt_count=marker.attempt, agent=self.agent.agent_name, error=marker.error,
                finished_at=now_epoch())])
            return CancelOutcome.CANCELLED
        return CancelOutcome.NOT_FOUND

    async def _collect_garbage(self, states: list[tuple[str, int, JobState]], now: float) -> None:
        """Drop old cancel markers, and heartbeat and cancel records of jobs no longer running."""
        layout = self.agent.layout
        running = {job_id for job_id, _, state in states if state.kind == PROCESSING}
        dead = [revision for _, revision, state in states
                if state.kind == CANCELLED and now - state.started_at > _MARKER_TTL]
        for kind in ("lease", "cancel"):
            subjects = await self.agent.state.subjects(f"{layout.subject_root}.{kind}.>")
            stale = [s for s in subjects if s.rsplit(".", 1)[1] not in running]
            found = await self.agent.state.get_many(stale)
            dead.extend(entry[0] for entry in found if entry is not None)
        await self.agent.state.delete_many(dead)

    async def _delete_job_message(self, seq: int) -> None:
        try:
            await self.agent.js.delete_msg(self.agent.layout.jobs_stream, seq)
        except nats.js.errors.NotFoundError:
            pass

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        entry = await self._state(job_id)
        revision, state = entry if entry else (0, None)
        if state is not None and state.kind != QUEUED:
            return False
        message = await self.find_message(job_id)
        if message is None:
            return False
        old_seq, body = message
        version = (state.version if state else 1) + 1
        # A new copy of the message, due at ``when``; the state names it, so the old copy
        # (perhaps held back by a delayed NAK) is terminated when it is delivered.
        body.scheduled_at = epoch(when)
        ack = await self.agent.js.publish(
            self.agent.layout.job_subject(body.job.lane, body.job.priority, job_id), body.encode(),
            headers={"Nats-Msg-Id": f"{job_id}:{version}"})
        queued = JobState(QUEUED, state.attempt if state else 0, version,
                          error=state.error if state else None, due_at=epoch(when),
                          lane=body.job.lane, copy=ack.seq)
        subject = self.agent.layout.state_subject(job_id)
        if await self.agent.state.write(subject, queued.encode(), revision) is None:
            await self._delete_job_message(ack.seq)
            return False
        await self._delete_job_message(old_seq)
        await self.agent.nc.publish(self.agent.layout.wake_subject, b"")
        return True

    async def rescue_expired(self, *, limit: int,
                             max_attempts_reason: str) -> RescueResult:
        now = now_epoch()
        requeued = failed = 0
        events = []
        states = await self._states()
        await self._collect_garbage(states, now)
        expired = [(job_id, revision, state) for job_id, revision, state in states
                   if state.kind == PROCESSING and state.expires_at < now]
        pushed = await self.agent.state.get_many(
            [self.agent.layout.lease_subject(job_id) for job_id, _, _ in expired])
        for (job_id, revision, state), lease in zip(expired, pushed, strict=True):
            if (lease is not None and float(lease[1]) >= now) or requeued + failed >= limit:
                continue  # a heartbeat pushed the expiry
            body = await self.agent.body(job_id)
            if body is None:
                continue
            exhausted = state.attempt > body.job.max_retries
            error = max_attempts_reason if exhausted else "lease expired: worker lost"
            subject = self.agent.layout.state_subject(job_id)
            if exhausted:
                if not await self.agent.state.delete(revision):
                    continue
                await self.agent.pipeline.post([(state.token, b"+TERM")])
                failed += 1
            else:
                queued = JobState(QUEUED, state.attempt, state.version + 1, error=error,
                                  lane=state.lane, copy=state.copy)
                if await self.agent.state.write(subject, queued.encode(), revision) is None:
                    continue
                await self.agent.pipeline.post([(state.token, b"-NAK")])
                requeued += 1
            events.append(make_event(
                body, version=state.version + 1,
                status=JobStatus.FAILED if exhausted else JobStatus.QUEUED,
                attempt_count=state.attempt, agent=self.agent.agent_name, error=error,
                attempt=abandoned(state, error, now), finished_at=now if exhausted else None))
        if events:
            await self.agent.outbox.append(events)
            await self.agent.nc.flush()
        return RescueResult(requeued=requeued, failed=failed)


def _live(message: tuple[int, JobBody], state: JobState | None, agent: str,
          cancel_requested: bool = False) -> JobInfo | None:
    seq, body = message
    job = body.job
    if state is not None and (state.kind == CANCELLED or (state.copy and state.copy != seq)):
        return None
    status = JobStatus.PROCESSING if state and state.kind == PROCESSING else JobStatus.QUEUED
    scheduled = state.due_at if state and state.due_at is not None else body.scheduled_at
    attempts: list[Attempt] = []
    if state is not None and state.kind == PROCESSING:
        attempts.append(Attempt(state.attempt, aware(state.started_at), None, state.worker,
                                AttemptOutcome.RUNNING))
    return JobInfo(
        id=job.id, status=status, definition_id=job.definition_id, lane=job.lane,
        priority=job.priority, scheduled_at=aware(scheduled), created_at=aware(body.created_at),
        msg_data=decode_bag(MessageData, job.msg_data), metadata=decode_bag(Metadata, job.metadata),
        attempts=attempts, attempt_count=state.attempt if state else 0,
        max_retries=job.max_retries, last_error=state.error if state else None,
        schedule_id=job.schedule_id, agent=agent, trigger=job.trigger,
        idempotency_key=job.idempotency_key,
        cancel_requested=cancel_requested and status is JobStatus.PROCESSING)

