"""Turning a batch of delivered messages into claimed jobs.

A first delivery is claimed by creating the job's state record (only if none exists). Any
other delivery — a retry, a release, a cancel marker, a redelivery after the previous holder's
AckWait expired — reads the record first and replaces that exact revision. Either way the
write is conditional, so two deliveries of one job can never both hold its lease; a delivery
that loses is NAKed and takes the reading path next time. The lease token is
``"<state revision>:<reply subject>"``: the revision fences, the reply subject acknowledges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nats.aio.msg import Msg

from ...model import Attempt, AttemptOutcome, ClaimedJob, JobEvent, JobStatus
from .records import CANCELLED, PROCESSING, QUEUED, JobBody, JobState, aware, make_event, now_epoch

if TYPE_CHECKING:
    from .agent import NatsAgent

log = logging.getLogger("jobmaster.nats")
REDELIVERED = "lease expired: the worker stopped acknowledging (redelivered by NATS)"
NO_ATTEMPT_LEFT = "worker_lost: no attempt left after the lease expired"


def make_token(revision: int, reply: str) -> str:
    """The lease token of a claim."""
    return f"{revision}:{reply}"


def split_token(token: str) -> tuple[int, str]:
    """(state revision, reply subject) of a lease token; revision 0 if malformed."""
    revision, _, reply = token.partition(":")
    return (int(revision), reply) if revision.isdigit() else (0, reply)


@dataclass(slots=True)
class ClaimContext:
    """One claim call: who claims, what it can run, and the replies and events to send."""

    agent: NatsAgent
    worker_id: str
    definitions: frozenset[str]
    lease: float
    replies: list[tuple[str, bytes]] = field(default_factory=list)
    events: list[JobEvent] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)

    def later(self, msg: Msg, body: JobBody, due: float, now: float) -> None:
        """Hand a not-yet-due job back to NATS until it is due (a delayed NAK)."""
        delay = max(int((due - now) * 1e9), 0)
        self.replies.append((msg.reply, f'-NAK {{"delay": {delay}}}'.encode()))
        self.agent.remember_waiting(body.job.id, due, body.job)

    async def settle(self) -> None:
        """Store the events of implicit rescues, drop dead records, then send NAKs and TERMs."""
        if self.events:
            await self.agent.outbox.append(self.events)
        if self.deletes:
            await self.agent.state.delete_many(self.deletes)
        if self.replies:
            await self.agent.pipeline.post(self.replies)


async def claim_messages(context: ClaimContext, messages: list[Msg]) -> list[ClaimedJob]:
    """Claim the jobs of ``messages`` (one read and one write round trip for the batch)."""
    agent = context.agent
    now = now_epoch()
    candidates: list[tuple[Msg, JobBody]] = []
    for msg in messages:
        try:
            body = JobBody.decode(msg.data)
        except (ValueError, KeyError) as exc:  # not ours or corrupt: keep it out of the queue
            log.error("NATS agent %s: undecodable job message terminated (%s): %.200r",
                      agent.agent_name, exc, msg.data)
            context.replies.append((msg.reply, b"+TERM"))
            continue
        if body.job.definition_id not in context.definitions:
            context.replies.append((msg.reply, b"-NAK"))
        else:
            candidates.append((msg, body))
    claimed, lost = await _claim_round(context, candidates, reread_all=False, now=now)
    if lost:  # first deliveries that met a state record (a rescheduled copy): read it now
        again, lost = await _claim_round(context, lost, reread_all=True, now=now)
        claimed.extend(again)
        context.replies.extend((msg.reply, b"-NAK") for msg, _ in lost)
    await context.settle()
    return claimed


async def _claim_round(context: ClaimContext, candidates: list[tuple[Msg, JobBody]], *,
                       reread_all: bool, now: float
                       ) -> tuple[list[ClaimedJob], list[tuple[Msg, JobBody]]]:
    """One read and one write round trip; returns the claims and the deliveries that lost."""
    agent = context.agent
    rereads = [(msg, body) for msg, body in candidates
               if reread_all or msg.metadata.num_delivered > 1]
    found = await agent.state.get_many([agent.layout.state_subject(b.job.id) for _, b in rereads])
    entries = {id(msg): entry for (msg, _), entry in zip(rereads, found, strict=True)}
    planned: list[tuple[Msg, JobBody, JobState]] = []
    writes: list[tuple[str, bytes, int | None]] = []
    for msg, body in candidates:
        plan = _plan(context, msg, body, entries.get(id(msg)), now)
        if plan is not None:
            state, revision = plan
            planned.append((msg, body, state))
            writes.append((agent.layout.state_subject(body.job.id), state.encode(), revision))
    revisions = await agent.state.write_many(writes)
    claimed: list[ClaimedJob] = []
    lost: list[tuple[Msg, JobBody]] = []
    for (msg, body, state), new_revision in zip(planned, revisions, strict=True):
        if new_revision is None:
            lost.append((msg, body))
            continue
        agent.claims[body.job.id] = (new_revision, state, body)
        claimed.append(_claimed(body, state, make_token(new_revision, msg.reply),
                                context.lease))
    return claimed, lost


def _plan(context: ClaimContext, msg: Msg, body: JobBody, entry: tuple[int, bytes] | None,
          now: float) -> tuple[JobState, int] | None:
    """The processing state to write for this delivery and the revision it replaces."""
    revision, previous = (entry[0], JobState.decode(entry[1])) if entry else (0, None)
    if previous is not None:
        if previous.copy and previous.copy != msg.metadata.sequence.stream:
            context.replies.append((msg.reply, b"+TERM"))  # superseded by a rescheduled copy
            return None
        if previous.kind == CANCELLED:
            context.replies.append((msg.reply, b"+TERM"))
            context.deletes.append(revision)
            return None
        if previous.kind == PROCESSING:
            previous = _expired(context, body, previous, now)
            if previous is None:
                context.replies.append((msg.reply, b"+TERM"))
                context.deletes.append(revision)
                return None
    due = previous.due_at if previous and previous.due_at is not None else body.scheduled_at
    if due > now:
        context.later(msg, body, due, now)
        return None
    attempt = previous.attempt + 1 if previous else 1
    version = previous.version + 1 if previous else 2
    return JobState(PROCESSING, attempt, version, msg.reply, context.worker_id, now,
                    now + context.lease, error=previous.error if previous else None,
                    due_at=due, lane=body.job.lane,
                    copy=previous.copy if previous else 0), revision


def _expired(context: ClaimContext, body: JobBody, previous: JobState,
             now: float) -> JobState | None:
    """NATS redelivered a job whose holder stopped acknowledging: record the abandoned attempt.

    Returns the state to continue from, or None when no attempt is left (the job failed)."""
    exhausted = previous.attempt > body.job.max_retries
    error = NO_ATTEMPT_LEFT if exhausted else REDELIVERED
    context.events.append(make_event(
        body, version=previous.version + 1,
        status=JobStatus.FAILED if exhausted else JobStatus.QUEUED,
        attempt_count=previous.attempt, agent=context.agent.agent_name, error=error,
        attempt=abandoned(previous, error, now), finished_at=now if exhausted else None))
    if exhausted:
        return None
    return JobState(QUEUED, previous.attempt, previous.version + 1, error=error,
                    lane=previous.lane, copy=previous.copy)


def abandoned(state: JobState, error: str, now: float) -> Attempt:
    """The attempt of a lease that expired."""
    return Attempt(state.attempt, aware(state.started_at or now), aware(now), state.worker,
                   AttemptOutcome.ABANDONED, error)


def _claimed(body: JobBody, state: JobState, token: str, lease: float) -> ClaimedJob:
    job = body.job
    return ClaimedJob(
        id=job.id, definition_id=job.definition_id, lane=job.lane, priority=job.priority,
        scheduled_at=aware(state.due_at or body.scheduled_at),
        created_at=aware(body.created_at), msg_data=job.msg_data, metadata=job.metadata,
        attempt=state.attempt, max_retries=job.max_retries, timeout_ms=job.timeout_ms,
        backoff=job.backoff, lease_token=token,
        lease_expires_at=aware(state.started_at + lease), schedule_id=job.schedule_id,
        trigger=job.trigger)
