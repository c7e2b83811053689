"""The NATS agent's rescuer: leases that expired, and records and markers grown old.

A first-delivery claim has no record: NATS's AckWait is its rescuer (a holder that stops
acknowledging is redelivered, and the redelivery records the lost attempt, see
:mod:`.claims`). Here the expired claims with a processing record are requeued or failed,
and so are the expired first-delivery claims of this process, at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import JobStatus, RescueResult
from .claims import abandoned
from .markers import MARKER_TTL
from .records import CANCELLED, DONE, PROCESSING, QUEUED, JobBody, JobState, make_event, now_epoch

if TYPE_CHECKING:
    from .agent import NatsAgent


async def rescue_expired(agent: NatsAgent, *, limit: int,
                         max_attempts_reason: str) -> RescueResult:
    """Jobs whose lease expired go back to the queue (or fail): those with a processing
    record, and the first-delivery claims of this instance. (A first-delivery claim of a
    process that died has no record: NATS redelivers it when AckWait expires, and the
    redelivery records the abandoned attempt.)"""
    now = now_epoch()
    states = await agent.queries.states()
    await collect_garbage(agent, states, now)
    candidates: list[tuple[str, int, JobState]] = [
        (job_id, revision, state) for job_id, revision, state in states
        if state.kind == PROCESSING and state.expires_at < now]
    candidates.extend((job_id, 0, held[1]) for job_id, held in agent.claims.items()
                      if held[0] == 0 and held[1].expires_at < now)
    pushed = await agent.state.get_many(
        [agent.layout.lease_subject(job_id) for job_id, _, _ in candidates])
    expired = [(job_id, revision, state) for (job_id, revision, state), lease
               in zip(candidates, pushed, strict=True)
               if lease is None or float(lease[1]) < now][:limit]
    bodies = [await agent.body(job_id) for job_id, _, _ in expired]
    plans: list[tuple[JobBody, int, JobState, JobState, bool, str]] = []
    for (_, revision, state), body in zip(expired, bodies, strict=True):
        if body is None:
            continue
        exhausted = state.attempt > body.job.max_retries
        error = max_attempts_reason if exhausted else "lease expired: worker lost"
        after = JobState(DONE if exhausted else QUEUED, state.attempt, state.version + 1,
                         error=error, started_at=now, lane=state.lane, copy=state.copy)
        plans.append((body, revision, state, after, exhausted, error))
    written = await agent.state.write_many([
        (agent.layout.state_subject(body.job.id), after.encode(), revision)
        for body, revision, _, after, _, _ in plans])
    events = []
    replies: list[tuple[str, bytes]] = []
    for (body, _, state, after, exhausted, error), ok in zip(plans, written, strict=True):
        agent.forget_claim(body.job.id)  # requeued, failed, or taken by another
        if ok is None:
            continue
        replies.append((state.token, b"+TERM" if exhausted else b"-NAK"))
        events.append(make_event(
            body, version=after.version,
            status=JobStatus.FAILED if exhausted else JobStatus.QUEUED,
            attempt_count=state.attempt, agent=agent.agent_name, error=error,
            attempt=abandoned(state, error, now), finished_at=now if exhausted else None))
    if events:
        await agent.outbox.append(events)
    await agent.pipeline.post(replies)
    await agent.notes.collect()
    failed = sum(1 for e in events if e.status is JobStatus.FAILED)
    return RescueResult(requeued=len(events) - failed, failed=failed)


async def collect_garbage(agent: NatsAgent, states: list[tuple[str, int, JobState]],
                          now: float) -> None:
    """Drop old cancel and done records, and old heartbeat and marker records. (Jobs
    claimed on their first delivery have no record, so age is the only safe criterion.)"""
    layout = agent.layout
    dead = [revision for _, revision, state in states
            if state.kind in (CANCELLED, DONE) and now - state.started_at > MARKER_TTL]
    for kind in ("lease", "cancel"):
        subjects = await agent.state.subjects(f"{layout.subject_root}.{kind}.>")
        found = await agent.state.get_many(subjects)
        dead.extend(entry[0] for entry in found
                    if entry is not None and now - _stamp(entry[1]) > MARKER_TTL)
    await agent.state.delete_many(dead)


def _stamp(data: bytes) -> float:
    """The time in a heartbeat record (its expiry) or a marker (when it was written)."""
    try:
        return float(data.rsplit(b" ", 1)[-1])
    except ValueError:
        return 0.0
