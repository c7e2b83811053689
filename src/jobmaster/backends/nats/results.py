"""Leases and results of claimed jobs: heartbeat, finish and release, each fenced by the state
revision in the lease token and batched into a few round trips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from ...abc import LeaseExtension
from ...model import Attempt, AttemptResult, JobEvent, JobStatus, LeaseRef
from .._common import outcome_to_status
from .claims import split_token
from .records import PROCESSING, QUEUED, JobBody, JobState, make_event, now_epoch

if TYPE_CHECKING:
    from .agent import NatsAgent

Held = tuple[int, JobState, JobBody]


async def held_leases(agent: NatsAgent, refs: Sequence[LeaseRef]) -> list[Held | None]:
    """Each lease's (revision, state, body) if it is still held, else None. Claims made by this
    instance are known without a round trip; a revision only changes when the lease is lost."""
    known: list[Held | None] = []
    unknown: list[int] = []
    for index, ref in enumerate(refs):
        entry = agent.claims.get(ref.job_id)
        known.append(entry if entry and entry[0] == split_token(ref.lease_token)[0] else None)
        if known[-1] is None:
            unknown.append(index)
    found = await agent.state.get_many([agent.layout.state_subject(refs[i].job_id)
                                        for i in unknown])
    for index, record in zip(unknown, found, strict=True):
        if record is None or record[0] != split_token(refs[index].lease_token)[0]:
            continue
        state = JobState.decode(record[1])
        body = await agent.body(refs[index].job_id)
        if state.kind == PROCESSING and body is not None:
            known[index] = (record[0], state, body)
    return known


async def extend_leases(agent: NatsAgent, refs: Sequence[LeaseRef],
                        lease: timedelta) -> LeaseExtension:
    """Check each lease against the state record, push its expiry and send ``+WPI``."""
    layout = agent.layout
    found = await agent.state.get_many([layout.state_subject(r.job_id) for r in refs])
    held = [ref for ref, entry in zip(refs, found, strict=True)
            if entry is not None and entry[0] == split_token(ref.lease_token)[0]]
    cancels = await agent.state.get_many([layout.cancel_subject(r.job_id) for r in held])
    expires = str(now_epoch() + lease.total_seconds()).encode()
    await agent.state.write_many([(layout.lease_subject(r.job_id), expires, None) for r in held])
    await agent.pipeline.post([(split_token(r.lease_token)[1], b"+WPI") for r in held])
    return LeaseExtension(
        frozenset(r.job_id for r in held),
        frozenset(r.job_id for r, c in zip(held, cancels, strict=True) if c is not None))


async def finish(agent: NatsAgent, results: Sequence[AttemptResult]) -> set[str]:
    """Record attempt results: final ones delete the state revision (the fence), retries
    replace it; then the events are stored and the messages acknowledged or NAKed."""
    entries = await held_leases(agent, [LeaseRef(r.job_id, r.lease_token) for r in results])
    pairs = [(r, e) for r, e in zip(results, entries, strict=True) if e is not None]
    finals = [(r, e) for r, e in pairs if r.retry_delay is None]
    retries = [(r, e) for r, e in pairs if r.retry_delay is not None]
    now = now_epoch()
    deleted = await agent.state.delete_many([e[0] for _, e in finals])
    queued = [_queued(r, e[1], now) for r, e in retries]
    written = await agent.state.write_many([
        (agent.layout.state_subject(r.job_id), q.encode(), e[0])
        for (r, e), q in zip(retries, queued, strict=True)])
    events: list[JobEvent] = []
    replies: list[tuple[str, bytes]] = []
    accepted: set[str] = set()
    for (result, (_, state, body)), ok in zip(finals, deleted, strict=True):
        if ok:
            events.append(_event(agent, result, state, body, now, None))
            replies.append((split_token(result.lease_token)[1], b"+ACK"))
            accepted.add(result.job_id)
    for (result, (_, state, body)), new, revision in zip(retries, queued, written, strict=True):
        if revision is not None:
            events.append(_event(agent, result, state, body, now, new))
            delay = int((result.retry_delay or timedelta()).total_seconds() * 1e9)
            replies.append((split_token(result.lease_token)[1],
                            f'-NAK {{"delay": {delay}}}'.encode() if delay > 0 else b"-NAK"))
            agent.remember_waiting(result.job_id, new.due_at or now, body.job)
            accepted.add(result.job_id)
    await agent.outbox.append(events)  # durable before the messages leave the stream
    await agent.pipeline.post(replies)
    for result in results:  # finished, or fenced off: this instance is done with them
        agent.claims.pop(result.job_id, None)
    return accepted


def _queued(result: AttemptResult, state: JobState, now: float) -> JobState:
    delay = (result.retry_delay or timedelta()).total_seconds()
    return JobState(QUEUED, state.attempt, state.version + 1,
                    error=result.error if result.error is not None else state.error,
                    due_at=now + delay, lane=state.lane, copy=state.copy)


def _event(agent: NatsAgent, result: AttemptResult, state: JobState, body: JobBody,
           now: float, queued: JobState | None) -> JobEvent:
    attempt = Attempt(state.attempt, result.started_at, result.finished_at, result.worker_id,
                      result.outcome, result.error, result.traceback)
    error = result.error if result.error is not None else state.error
    if queued is not None:
        return make_event(body, version=queued.version, status=JobStatus.QUEUED,
                          attempt_count=state.attempt, agent=agent.agent_name, error=error,
                          attempt=attempt, scheduled_at=queued.due_at)
    return make_event(body, version=state.version + 1, status=outcome_to_status(result.outcome),
                      attempt_count=state.attempt, agent=agent.agent_name, error=error,
                      attempt=attempt, finished_at=now)


async def release(agent: NatsAgent, refs: Sequence[LeaseRef]) -> int:
    """Give back never-started claims: QUEUED again (attempt restored) and NAKed at once."""
    entries = await held_leases(agent, refs)
    pairs = [(r, e) for r, e in zip(refs, entries, strict=True) if e is not None]
    written = await agent.state.write_many([
        (agent.layout.state_subject(r.job_id),
         JobState(QUEUED, s.attempt - 1, s.version + 1, error=s.error, lane=s.lane,
                  copy=s.copy).encode(), rev) for r, (rev, s, _) in pairs])
    released = [r for (r, _), ok in zip(pairs, written, strict=True) if ok is not None]
    await agent.pipeline.post([(split_token(r.lease_token)[1], b"-NAK") for r in released])
    for ref in released:
        agent.claims.pop(ref.job_id, None)
    return len(released)
