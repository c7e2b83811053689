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
)
from .._common import decode_bag, info_from_event, select_page
from .claims import COPY_HEADER, FIRST_VERSION
from .records import (
    CANCELLED,
    DONE,
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

#: Marker contents: a cancel request, or "moved to a rescheduled copy" (both followed by the
#: time they were written).
CANCEL_REQUEST, MOVED = b"c", b"m"
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
            live = await self._live(message, entry[1] if entry else None,
                                    cancel is not None and is_cancel_request(cancel[1]), {})
            if live is not None:
                return live
        for event in reversed(await self.agent.outbox.read(1 << 30, scan=_OUTBOX_SCAN)):
            if event.job_id == job_id and event.status.is_final:
                return info_from_event(event, [event.attempt] if event.attempt else [])
        return None

    async def list_jobs(self, query: JobQuery) -> JobPage:
        infos: list[JobInfo] = []
        delivered: dict[tuple[str, int], int] = {}
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
            live = await self._live((msg.seq or 0, body), entry[1] if entry else None, False,
                                    delivered)
            if live is not None:
                infos.append(live)
        return select_page(iter(infos), query)

    async def _live(self, message: tuple[int, JobBody], state: JobState | None,
                    cancel_requested: bool, delivered: dict[tuple[str, int], int]
                    ) -> JobInfo | None:
        """The in-flight view of a job whose message is in the stream. Without a state record
        it is running if its message was delivered (a first delivery's claim); the worker is
        known when the claim was made by this instance."""
        body = message[1]
        if state is None:
            held = self.agent.claims.get(body.job.id)
            if held is not None and held[0] == 0:
                state = held[1]
            else:
                key = (body.job.lane, body.job.priority)
                if key not in delivered:
                    delivered[key] = await self.delivered(*key)
                if message[0] <= delivered[key]:
                    note = await self.agent.notes.find(message[0])
                    worker, started = note if note else ("", 0.0)
                    state = JobState(PROCESSING, 1, FIRST_VERSION, worker=worker,
                                     started_at=started, lane=body.job.lane)
        return _live(message, state, self.agent.agent_name, cancel_requested)

    async def delivered(self, lane: str, priority: int) -> int:
        """The stream sequence up to which the lane's consumer has delivered messages."""
        try:
            info = await self.agent.js.consumer_info(self.agent.layout.jobs_stream,
                                                     self.agent.layout.consumer(lane, priority))
        except nats.js.errors.NotFoundError:
            return 0
        return info.delivered.stream_seq if info.delivered else 0

    async def queue_depth(self) -> dict[str, int]:
        """Messages not delivered yet, plus jobs handed back and waiting (queued records)."""
        depth: dict[str, int] = {}
        for info in await self.agent.js.consumers_info(self.agent.layout.jobs_stream):
            lane = info.config.description
            if lane is not None:
                depth[lane] = depth.get(lane, 0) + (info.num_pending or 0)
        for _, _, state in await self.states():
            if state.kind == QUEUED and state.lane in depth:
                depth[state.lane] += 1
        return {lane: count for lane, count in depth.items() if count > 0}

    async def states(self) -> list[tuple[str, int, JobState]]:
        """Every state record: (job id, revision, state)."""
        subjects = await self.agent.state.subjects(f"{self.agent.layout.subject_root}.state.>")
        found = await self.agent.state.get_many(subjects)
        return [(subject.rsplit(".", 1)[1], entry[0], JobState.decode(entry[1]))
                for subject, entry in zip(subjects, found, strict=True) if entry]

    async def cancel(self, job_id: str) -> CancelOutcome:
        for _ in range(5):
            entry = await self._state(job_id)
            revision, state = entry if entry else (0, None)
            if state is not None and state.kind in (CANCELLED, DONE):
                return CancelOutcome.NOT_FOUND
            if state is not None and state.kind == PROCESSING:
                # Kept apart from the state record, so the running attempt's fence holds.
                await self._mark(job_id, CANCEL_REQUEST)
                return CancelOutcome.REQUESTED
            message = await self.find_message(job_id)
            if message is None:
                return CancelOutcome.NOT_FOUND
            if state is None:
                # A first delivery is claimed without reading the record: the marker stops
                # it (see .markers). Written before the check, so a delivery after the check
                # meets it; a delivery before it may be running: ask its holder.
                await self._mark(job_id, CANCEL_REQUEST)
                job = message[1].job
                if message[0] <= await self.delivered(job.lane, job.priority):
                    return CancelOutcome.REQUESTED
            version = (state.version if state else 1) + 1
            marker = JobState(CANCELLED, state.attempt if state else 0, version,
                              started_at=now_epoch(), error=state.error if state else None)
            subject = self.agent.layout.state_subject(job_id)
            if await self.agent.state.write(subject, marker.encode(), revision) is None:
                continue
            await self._delete_job_message(message[0])
            await self.agent.outbox.append([make_event(
                message[1], version=version, status=JobStatus.CANCELLED,
                attempt_count=marker.attempt, agent=self.agent.agent_name, error=marker.error,
                finished_at=now_epoch())])
            return CancelOutcome.CANCELLED
        return CancelOutcome.NOT_FOUND

    async def _mark(self, job_id: str, kind: bytes) -> None:
        """Write the job's marker: a cancel request, or "moved" (rescheduled to a copy)."""
        await self.agent.state.write(self.agent.layout.cancel_subject(job_id),
                                     kind + b" %f" % now_epoch(), None)

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
        if state is None:
            # As for cancel: the "moved" marker stops a first delivery of the old message
            # from now on; one made before the check may be running.
            await self._mark(job_id, MOVED)
            if old_seq <= await self.delivered(body.job.lane, body.job.priority):
                return False
        version = (state.version if state else 1) + 1
        # A new copy of the message, due at ``when``; the state names it, so the old copy
        # (perhaps held back by a delayed NAK) is terminated when it is delivered.
        body.scheduled_at = epoch(when)
        ack = await self.agent.js.publish(
            self.agent.layout.job_subject(body.job.lane, body.job.priority, job_id), body.encode(),
            headers={"Nats-Msg-Id": f"{job_id}:{version}", COPY_HEADER: "1"})
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

def is_cancel_request(data: bytes) -> bool:
    """Whether a marker asks for a cancel (rather than saying the job moved to a copy)."""
    return not data.startswith(MOVED)


def _live(message: tuple[int, JobBody], state: JobState | None, agent: str,
          cancel_requested: bool = False) -> JobInfo | None:
    seq, body = message
    job = body.job
    if state is not None and (state.kind in (CANCELLED, DONE)
                              or (state.copy and state.copy != seq)):
        return None
    status = JobStatus.PROCESSING if state and state.kind == PROCESSING else JobStatus.QUEUED
    scheduled = state.due_at if state and state.due_at is not None else body.scheduled_at
    attempts: list[Attempt] = []
    if state is not None and state.kind == PROCESSING and state.started_at:
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

