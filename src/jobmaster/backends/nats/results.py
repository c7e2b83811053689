"""Leases and results of claimed jobs: heartbeat, finish and release, batched into a few
round trips and fenced by the lease token (see :mod:`.claims` for its two kinds).

A claim of a first delivery has no state record. Its final result, sent while the delivery
cannot have expired yet (:meth:`.Token.fresh`), needs no fence: the event is stored, then the
message acknowledged. Any other result of such a claim (a retry, a release, a result sent
late) creates the state record "only if absent", which fails if a redelivery got there first.
A claim with a record replaces or deletes exactly its revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from ...abc import LeaseExtension
from ...model import AttemptResult, JobStatus, LeaseRef
from .._common import outcome_to_status
from .claims import FIRST_VERSION, Token
from .queries import is_cancel_request
from .records import (
    DONE,
    PROCESSING,
    QUEUED,
    EventRow,
    JobBody,
    JobState,
    epoch,
    event_row,
    now_epoch,
)

if TYPE_CHECKING:
    from .agent import NatsAgent

Held = tuple[int, JobState, JobBody]


async def held_leases(agent: NatsAgent, refs: Sequence[LeaseRef]
                      ) -> list[tuple[Token, Held] | None]:
    """Each lease's token and (revision, state, body) if it may still be held, else None.
    Claims made by this instance are known without a round trip."""
    known: list[tuple[Token, Held] | None] = []
    unknown: list[int] = []
    for index, ref in enumerate(refs):
        token = agent.tokens.get(ref.lease_token) or Token.parse(ref.lease_token)
        entry = agent.claims.get(ref.job_id)
        if token is None:
            known.append(None)
        elif entry and entry[0] == token.revision and entry[1].token == token.reply:
            known.append((token, entry))
        else:
            known.append(None)
            unknown.append(index)
    found = await agent.state.get_many([agent.layout.state_subject(refs[i].job_id)
                                        for i in unknown])
    for index, record in zip(unknown, found, strict=True):
        token = Token.parse(refs[index].lease_token)
        assert token is not None
        if token.first and record is None:  # (a record: released, retried or taken over)
            state = JobState(PROCESSING, 1, FIRST_VERSION, token.reply, "", 0.0,
                             token.expires_at)
        elif record is not None and record[0] == token.revision:
            state = JobState.decode(record[1])
        else:
            continue
        body = await agent.body(refs[index].job_id)
        if state.kind == PROCESSING and body is not None:
            known[index] = (token, (token.revision, state, body))
    return known


async def extend_leases(agent: NatsAgent, refs: Sequence[LeaseRef],
                        lease: timedelta) -> LeaseExtension:
    """Check each lease against the state record, push its expiry and send ``+WPI``.

    A first delivery's claim is held while its job has no state record (any other claimer
    would have created one)."""
    layout = agent.layout
    found = await agent.state.get_many([layout.state_subject(r.job_id) for r in refs])
    held: list[tuple[LeaseRef, Token]] = []
    for ref, entry in zip(refs, found, strict=True):
        token = Token.parse(ref.lease_token)
        if token is not None and (entry is None if token.first else
                                  entry is not None and entry[0] == token.revision):
            held.append((ref, token))
    cancels = await agent.state.get_many([layout.cancel_subject(r.job_id) for r, _ in held])
    expires = str(now_epoch() + lease.total_seconds()).encode()
    await agent.state.write_many([(layout.lease_subject(r.job_id), expires, None)
                                  for r, _ in held])
    await agent.pipeline.post([(t.reply, b"+WPI") for _, t in held])
    return LeaseExtension(
        frozenset(r.job_id for r, _ in held),
        frozenset(r.job_id for (r, _), c in zip(held, cancels, strict=True)
                  if c is not None and is_cancel_request(c[1])))


async def finish(agent: NatsAgent, results: Sequence[AttemptResult]) -> set[str]:
    """Record attempt results, then store their events and acknowledge or NAK the messages."""
    entries = await held_leases(agent, [LeaseRef(r.job_id, r.lease_token) for r in results])
    now = now_epoch()
    unfenced: list[tuple[AttemptResult, Token, Held]] = []  # fresh final results of first claims
    deletes: list[tuple[AttemptResult, Token, Held]] = []
    writes: list[tuple[AttemptResult, Token, Held, JobState]] = []
    for result, entry in zip(results, entries, strict=True):
        if entry is None:
            continue
        token, held = entry
        if result.retry_delay is not None:
            writes.append((result, token, held, _queued(result, held[1], now)))
        elif not token.first:
            deletes.append((result, token, held))
        elif token.fresh(now):
            unfenced.append((result, token, held))
        else:
            writes.append((result, token, held, _done(held[1])))
    deleted, written = await asyncio.gather(
        agent.state.delete_many([held[0] for _, _, held in deletes]),
        agent.state.write_many([(agent.layout.state_subject(r.job_id), new.encode(), held[0])
                                for r, _, held, new in writes]))
    events: list[EventRow] = []
    acks: list[tuple[AttemptResult, Token]] = []
    naks: list[tuple[str, bytes]] = []
    for result, token, (_, state, body) in unfenced:
        events.append(_event(agent, result, state, body, now, None))
        acks.append((result, token))
    for (result, token, (_, state, body)), ok in zip(deletes, deleted, strict=True):
        if ok:
            events.append(_event(agent, result, state, body, now, None))
            acks.append((result, token))
    for (result, token, (_, state, body), new), revision in zip(writes, written, strict=True):
        if revision is None:
            continue
        if new.kind == DONE:
            events.append(_event(agent, result, state, body, now, None))
            acks.append((result, token))
            continue
        events.append(_event(agent, result, state, body, now, new))
        delay = int((result.retry_delay or timedelta()).total_seconds() * 1e9)
        naks.append((token.reply, f'-NAK {{"delay": {delay}}}'.encode() if delay > 0
                     else b"-NAK"))
        agent.remember_waiting(result.job_id, new.due_at or now, body.job)
    await agent.outbox.append_rows(events)  # durable before the messages leave the stream
    late = await _fence_late(agent, [(r, t, h) for r, t, h in unfenced
                                     if not t.fresh(now_epoch())])
    replies = [(t.reply, b"+ACK") for r, t in acks if r.job_id not in late] + naks
    # Fire and forget: a lost acknowledgement means a redelivery, which the events and
    # records above already account for.
    await agent.pipeline.post(replies, flush=False)
    for result in results:  # finished, or fenced off: this instance is done with them
        agent.forget_claim(result.job_id)
    await agent.notes.collect()
    return {r.job_id for r, _ in acks if r.job_id not in late} | {
        r.job_id for (r, _, _, new), rev in zip(writes, written, strict=True)
        if rev is not None and new.kind != DONE}


async def _fence_late(agent: NatsAgent, items: list[tuple[AttemptResult, Token, Held]]
                      ) -> set[str]:
    """Results that were fresh when checked but no longer are once their events are stored:
    fence them after all (the ids of those that lost are returned; their events, stored with
    a version below any redelivery's, are overridden on the master)."""
    if not items:
        return set()
    written = await agent.state.write_many([
        (agent.layout.state_subject(r.job_id), _done(held[1]).encode(), 0)
        for r, _, held in items])
    return {r.job_id for (r, _, _), revision in zip(items, written, strict=True)
            if revision is None}


def _done(state: JobState) -> JobState:
    """The record left by a finished first-delivery claim (a redelivery meets it and stops)."""
    return JobState(DONE, state.attempt, state.version + 1, started_at=now_epoch(),
                    error=state.error, lane=state.lane)


def _queued(result: AttemptResult, state: JobState, now: float) -> JobState:
    delay = (result.retry_delay or timedelta()).total_seconds()
    return JobState(QUEUED, state.attempt, state.version + 1,
                    error=result.error if result.error is not None else state.error,
                    due_at=now + delay, lane=state.lane, copy=state.copy)


def _event(agent: NatsAgent, result: AttemptResult, state: JobState, body: JobBody,
           now: float, queued: JobState | None) -> EventRow:
    attempt = [state.attempt, epoch(result.started_at),
               epoch(result.finished_at) if result.finished_at else None, result.worker_id,
               result.outcome.value, result.error, result.traceback]
    error = result.error if result.error is not None else state.error
    if queued is not None:
        return event_row(body, version=queued.version, status=JobStatus.QUEUED,
                         attempt_count=state.attempt, agent=agent.agent_name, error=error,
                         attempt=attempt, scheduled_at=queued.due_at)
    return event_row(body, version=state.version + 1, status=outcome_to_status(result.outcome),
                     attempt_count=state.attempt, agent=agent.agent_name, error=error,
                     attempt=attempt, finished_at=now)


async def release(agent: NatsAgent, refs: Sequence[LeaseRef]) -> int:
    """Give back never-started claims: QUEUED again (attempt restored) and NAKed at once."""
    entries = await held_leases(agent, refs)
    pairs = [(r, e) for r, e in zip(refs, entries, strict=True) if e is not None]
    written = await agent.state.write_many([
        (agent.layout.state_subject(r.job_id),
         JobState(QUEUED, s.attempt - 1, s.version + 1, error=s.error, lane=s.lane,
                  copy=s.copy).encode(), rev) for r, (_, (rev, s, _)) in pairs])
    released = [(r, t) for (r, (t, _)), ok in zip(pairs, written, strict=True) if ok is not None]
    await agent.pipeline.post([(t.reply, b"-NAK") for _, t in released])
    for ref, _ in released:
        agent.forget_claim(ref.job_id)
    return len(released)
