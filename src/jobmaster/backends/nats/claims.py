"""Turning a batch of delivered messages into claimed jobs.

**First deliveries** (the common case) write nothing: the delivery itself is the claim. No
other worker can receive the message until the consumer's AckWait (= the lease) expires, so
the claim holds until then; its lease token carries that expiry (``~<expiry ms>:<lease ms>:
<reply>``). Results sent well before it are final without a fence (see :mod:`.results`);
later ones, retries and releases create the job's state record "only if absent", and so
does any delivery that is not a first one: whoever creates it first owns the job.

**Other deliveries** — a retry, a release, a rescheduled copy (header ``Jm-Copy``), a
redelivery after AckWait — read the state record and replace that exact revision (or create
it). Two deliveries of one job can never both hold its lease; a delivery that loses is NAKed.
Their lease token is ``<state revision>:<reply subject>``.

A first delivery that is handed back unclaimed (handler unknown here, not yet due) leaves a
queued state record, so that "redelivered without a record" always means "its first holder
stopped acknowledging". Versions of the first path (2 while running, 3 when finished) stay
below those of a redelivery after it (4, 5, …), so the master keeps the later attempt.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...model import Attempt, AttemptOutcome, ClaimedJob, JobEvent, JobStatus
from .inbound import Inbound, delivery
from .records import (
    CANCELLED,
    DONE,
    PROCESSING,
    QUEUED,
    JobBody,
    JobState,
    aware,
    make_event,
    now_epoch,
)

if TYPE_CHECKING:
    from .agent import NatsAgent

log = logging.getLogger("jobmaster.nats")
REDELIVERED = "lease expired: the worker stopped acknowledging (redelivered by NATS)"
NO_ATTEMPT_LEFT = "worker_lost: no attempt left after the lease expired"
COPY_HEADER = "Jm-Copy"
_COPY = COPY_HEADER.encode()
#: The state a first delivery's claim stands for (nothing is written for it).
FIRST_VERSION = 2


@dataclass(frozen=True, slots=True)
class Token:
    """A parsed lease token: a state revision, or (first deliveries) the delivery's expiry."""

    reply: str
    revision: int = 0
    expires_at: float = 0.0
    lease: float = 0.0

    @property
    def first(self) -> bool:
        """A first delivery's claim, fenced by its expiry instead of a record."""
        return self.revision == 0

    def fresh(self, now: float) -> bool:
        """Whether a result sent now surely reaches NATS before AckWait could expire."""
        margin = min(max(self.lease * 0.15, 0.5), self.lease / 2)
        return now < self.expires_at - margin

    def encode(self) -> str:
        if self.first:
            return f"~{round(self.expires_at * 1000)}:{round(self.lease * 1000)}:{self.reply}"
        return f"{self.revision}:{self.reply}"

    @classmethod
    def parse(cls, token: str) -> Token | None:
        """None for a token this agent did not issue."""
        head, _, rest = token.partition(":")
        if head.startswith("~") and head[1:].isdigit():
            lease, _, reply = rest.partition(":")
            if lease.isdigit() and reply:
                return cls(reply, 0, int(head[1:]) / 1000, int(lease) / 1000)
        elif head.isdigit() and int(head) > 0 and rest:
            return cls(rest, int(head))
        return None


@dataclass(slots=True)
class _Plan:
    """What to write for one delivery, and what follows if the write succeeds."""

    msg: Inbound
    body: JobBody
    state: JobState
    revision: int
    claim: bool = True
    events: list[JobEvent] = field(default_factory=list)
    reply: bytes = b""


@dataclass(slots=True)
class ClaimContext:
    """One claim call: who claims, what it can run, and the replies and events to send."""

    agent: NatsAgent
    worker_id: str
    definitions: frozenset[str]
    lease: float
    #: Agent clock before the pulls were sent: the server's AckWait starts later than this.
    sent_at: float = 0.0
    replies: list[tuple[str, bytes]] = field(default_factory=list)
    events: list[JobEvent] = field(default_factory=list)

    def later(self, msg: Inbound, body: JobBody, due: float, now: float) -> None:
        """Hand a not-yet-due job back to NATS until it is due (a delayed NAK)."""
        delay = max(int((due - now) * 1e9), 0)
        self.replies.append((msg.reply, f'-NAK {{"delay": {delay}}}'.encode()))
        self.agent.remember_waiting(body.job.id, due, body.job)

    async def settle(self) -> None:
        """Store the events of implicit rescues, then send NAKs and TERMs."""
        if self.events:
            await self.agent.outbox.append(self.events)
        if self.replies:
            await self.agent.pipeline.post(self.replies)


async def claim_messages(context: ClaimContext, messages: list[Inbound]) -> list[ClaimedJob]:
    """Claim the jobs of ``messages``: for first deliveries, one round trip per batch (the
    claim note and the cancel markers, together); one read and one write for the others."""
    agent = context.agent
    now = now_epoch()
    first: list[tuple[Inbound, JobBody]] = []
    handed_back: list[_Plan] = []
    others: list[tuple[Inbound, JobBody]] = []
    for msg in messages:
        try:
            body = JobBody.decode(msg.data)
        except (ValueError, KeyError) as exc:  # not ours or corrupt: keep it out of the queue
            log.error("NATS agent %s: undecodable job message terminated (%s): %.200r",
                      agent.agent_name, exc, msg.data)
            context.replies.append((msg.reply, b"+TERM"))
            continue
        is_first = delivery(msg.reply)[0] == 1 and not (msg.head and _COPY in msg.head)
        if body.job.definition_id not in context.definitions:
            if is_first:  # leave a record: a redelivery without one means "holder lost"
                handed_back.append(_queued_record(msg, body, None, b"-NAK"))
            else:
                context.replies.append((msg.reply, b"-NAK"))
        elif not is_first:
            others.append((msg, body))
        elif body.scheduled_at > now:
            handed_back.append(_queued_record(msg, body, body.scheduled_at, b""))
            context.later(msg, body, body.scheduled_at, now)
        else:
            first.append((msg, body))
    claimed: list[ClaimedJob] = []
    if first:
        cancelled, _ = await asyncio.gather(
            agent.markers.cancelled([body.job.id for _, body in first]),
            agent.notes.publish(context.worker_id, now,
                                [(body.job.id, delivery(msg.reply)[1]) for msg, body in first]))
        for msg, body in first:
            if body.job.id in cancelled:  # cancelled while queued: the canceller reported it
                context.replies.append((msg.reply, b"+TERM"))
                agent.notes.forget(body.job.id)
            else:
                claimed.append(_claim_first(context, msg, body, now))
    if handed_back:
        await _write_plans(context, handed_back)
    if others:
        won, lost = await _claim_round(context, others, now=now)
        claimed.extend(won)
        context.replies.extend((msg.reply, b"-NAK") for msg, _ in lost)
    await context.settle()
    return claimed


def _queued_record(msg: Inbound, body: JobBody, due: float | None, reply: bytes) -> _Plan:
    state = JobState(QUEUED, 0, 1, due_at=due, lane=body.job.lane)
    return _Plan(msg, body, state, 0, claim=False, reply=reply)


def _claim_first(context: ClaimContext, msg: Inbound, body: JobBody, now: float) -> ClaimedJob:
    expires = context.sent_at + context.lease
    state = JobState(PROCESSING, 1, FIRST_VERSION, msg.reply, context.worker_id, now, expires,
                     due_at=body.scheduled_at, lane=body.job.lane)
    token = context.agent.remember_claim(body.job.id, (0, state, body),
                                         Token(msg.reply, 0, expires, context.lease))
    return _claimed(body, state, token, expires)


async def _claim_round(context: ClaimContext, candidates: list[tuple[Inbound, JobBody]], *,
                       now: float) -> tuple[list[ClaimedJob], list[tuple[Inbound, JobBody]]]:
    """One read and one write round trip; returns the claims and the deliveries that lost."""
    agent = context.agent
    layout = agent.layout
    ids = [body.job.id for _, body in candidates]
    found = await agent.state.get_many([layout.state_subject(i) for i in ids]
                                       + [layout.cancel_subject(i) for i in ids])
    plans: list[_Plan] = []
    for index, (msg, body) in enumerate(candidates):
        marker = found[len(ids) + index]
        entry = found[index] or await _lost_first_claim(agent, msg, body, now)
        plan = _plan(context, msg, body, entry,
                     marker is not None and not marker[1].startswith(b"m"), now)
        if plan is not None:
            plans.append(plan)
    return await _write_plans(context, plans)


async def _write_plans(context: ClaimContext, plans: list[_Plan]
                       ) -> tuple[list[ClaimedJob], list[tuple[Inbound, JobBody]]]:
    agent = context.agent
    revisions = await agent.state.write_many([
        (agent.layout.state_subject(p.body.job.id), p.state.encode(), p.revision)
        for p in plans])
    claimed: list[ClaimedJob] = []
    lost: list[tuple[Inbound, JobBody]] = []
    for plan, new_revision in zip(plans, revisions, strict=True):
        if new_revision is None:
            if plan.claim:
                lost.append((plan.msg, plan.body))
            elif plan.reply:
                context.replies.append((plan.msg.reply, plan.reply))
            continue
        context.events.extend(plan.events)
        if plan.reply:
            context.replies.append((plan.msg.reply, plan.reply))
        if plan.claim:
            token = agent.remember_claim(plan.body.job.id, (new_revision, plan.state, plan.body),
                                         Token(plan.msg.reply, new_revision))
            claimed.append(_claimed(plan.body, plan.state, token,
                                    plan.state.started_at + context.lease))
    return claimed, lost


async def _lost_first_claim(agent: NatsAgent, msg: Inbound, body: JobBody,
                            now: float) -> tuple[int, bytes]:
    """Redelivered without a record: its first delivery was claimed and the holder stopped
    acknowledging, or (no claim note) it never reached a claim (a pull that timed out, a
    connection lost on the way). As a record to replace (revision 0: none), with the worker
    and start time of the claim. Its version is above a first claim's final one, so the
    master keeps what follows."""
    held = agent.claims.get(body.job.id)
    if held is not None and held[0] == 0:
        note: tuple[str, float] | None = (held[1].worker, held[1].started_at)
    else:
        note = await agent.notes.find(delivery(msg.reply)[1])
    if note is None:
        state = JobState(QUEUED, 0, FIRST_VERSION + 1, lane=body.job.lane)
    else:
        state = JobState(PROCESSING, 1, FIRST_VERSION + 1, worker=note[0], started_at=note[1],
                         lane=body.job.lane)
    return 0, state.encode()


def _plan(context: ClaimContext, msg: Inbound, body: JobBody, entry: tuple[int, bytes],
          cancel_requested: bool, now: float) -> _Plan | None:
    """The state to write for this delivery and the revision it replaces (None: no write)."""
    revision, previous = entry[0], JobState.decode(entry[1])
    if previous.copy and previous.copy != delivery(msg.reply)[1]:
        context.replies.append((msg.reply, b"+TERM"))  # superseded by a rescheduled copy
        return None
    if previous.kind in (CANCELLED, DONE):
        context.replies.append((msg.reply, b"+TERM"))
        return None
    events: list[JobEvent] = []
    if previous.kind == PROCESSING:
        previous, event = _expired(context, body, previous, now)
        events.append(event)
        if previous.kind == DONE:
            return _Plan(msg, body, previous, revision, claim=False, events=events, reply=b"+TERM")
    if cancel_requested:  # asked while its holder was lost, or while queued with a record
        done = JobState(DONE, previous.attempt, previous.version + 1, started_at=now,
                        error=previous.error, lane=previous.lane)
        events.append(make_event(body, version=done.version, status=JobStatus.CANCELLED,
                                 attempt_count=previous.attempt, agent=context.agent.agent_name,
                                 error=previous.error, finished_at=now))
        return _Plan(msg, body, done, revision, claim=False, events=events, reply=b"+TERM")
    due = previous.due_at if previous.due_at is not None else body.scheduled_at
    if due > now:
        if events:  # record the abandoned attempt now; the next delivery is the retry
            return _Plan(msg, body, previous, revision, claim=False, events=events,
                         reply=f'-NAK {{"delay": {max(int((due - now) * 1e9), 0)}}}'.encode())
        context.later(msg, body, due, now)
        return None
    state = JobState(PROCESSING, previous.attempt + 1, previous.version + 1, msg.reply,
                     context.worker_id, now, now + context.lease, error=previous.error,
                     due_at=due, lane=body.job.lane, copy=previous.copy)
    return _Plan(msg, body, state, revision, events=events)


def _expired(context: ClaimContext, body: JobBody, previous: JobState,
             now: float) -> tuple[JobState, JobEvent]:
    """NATS redelivered a job whose holder stopped acknowledging: record the abandoned attempt.

    Returns the state to continue from (``DONE`` when no attempt is left: the job failed)."""
    exhausted = previous.attempt > body.job.max_retries
    error = NO_ATTEMPT_LEFT if exhausted else REDELIVERED
    event = make_event(
        body, version=previous.version + 1,
        status=JobStatus.FAILED if exhausted else JobStatus.QUEUED,
        attempt_count=previous.attempt, agent=context.agent.agent_name, error=error,
        attempt=abandoned(previous, error, now), finished_at=now if exhausted else None)
    return JobState(DONE if exhausted else QUEUED, previous.attempt, previous.version + 1,
                    started_at=now if exhausted else 0.0, error=error, lane=previous.lane,
                    copy=previous.copy), event


def abandoned(state: JobState, error: str, now: float) -> Attempt:
    """The attempt of a lease that expired."""
    return Attempt(state.attempt, aware(state.started_at or now), aware(now), state.worker,
                   AttemptOutcome.ABANDONED, error)


def _claimed(body: JobBody, state: JobState, token: str, expires: float) -> ClaimedJob:
    job = body.job
    return ClaimedJob(
        id=job.id, definition_id=job.definition_id, lane=job.lane, priority=job.priority,
        scheduled_at=aware(state.due_at or body.scheduled_at),
        created_at=aware(body.created_at), msg_data=job.msg_data, metadata=job.metadata,
        attempt=state.attempt, max_retries=job.max_retries, timeout_ms=job.timeout_ms,
        backoff=job.backoff, lease_token=token,
        lease_expires_at=aware(expires), schedule_id=job.schedule_id,
        trigger=job.trigger)
