"""The syncer's fast path from a NATS agent to a PostgreSQL master: the stored JSON rows are
parsed by the server (``import_outbox``) and must leave exactly the history the event path
(``read_outbox`` / ``apply_events``) leaves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from jobmaster.abc import MasterStore
from jobmaster.backends.factory import make_master
from jobmaster.backends.nats import NatsAgent, NatsSettings
from jobmaster.config import BackendSpec
from jobmaster.model import AttemptOutcome, JobInfo, JobStatus
from jobmaster.runtime.syncer import Syncer
from tests.conformance.conftest import new_job
from tests.conformance.test_agent import result

DEFS = ["tests.noop"]
LEASE = timedelta(seconds=30)


@pytest.fixture
async def agent(nats_url: str) -> AsyncIterator[NatsAgent]:
    transport = NatsAgent(NatsSettings(servers=(nats_url,), cluster=f"i{uuid.uuid4().hex[:8]}",
                                       stream_prefix="JMT"), "n1")
    await transport.open()
    yield transport
    await transport.drop()
    await transport.close()


async def _master(pg_database: str) -> MasterStore:
    master = make_master(BackendSpec("postgres", pg_database, f"t{uuid.uuid4().hex[:8]}_"))
    await master.open()
    await master.migrate()
    return master


def _ms(moment: datetime | None) -> object:
    """Times to the millisecond: the agent stores epoch floats, which the server and Python
    may round to different microseconds."""
    return None if moment is None else round(moment.timestamp(), 3)


def _comparable(info: JobInfo | None) -> object:
    assert info is not None
    return (info.status, info.attempt_count, info.last_error, info.agent, _ms(info.created_at),
            _ms(info.scheduled_at), [(a.number, a.outcome, a.error, a.worker_id,
                                      _ms(a.started_at), _ms(a.finished_at))
                                     for a in info.attempts])


async def test_json_import_matches_the_event_path(agent: NatsAgent, pg_database: str) -> None:
    fast, slow = await _master(pg_database), await _master(pg_database)
    assert agent.outbox_export_format in fast.outbox_import_formats
    try:
        jobs = [new_job(msg_data={"n": n, "text": 'quote " and \\ backslash é'})
                for n in range(30)]
        await agent.enqueue(jobs)
        claimed = await agent.claim("w1", lanes=None, definitions=DEFS, limit=30, lease=LEASE)
        assert len(claimed) == 30
        await agent.finish([result(j) for j in claimed[:20]])
        await agent.finish([result(j, AttemptOutcome.FAILED, error="boom\nline two")
                            for j in claimed[20:25]])
        await agent.finish([result(j, AttemptOutcome.FAILED, error="again",
                                   retry=timedelta(hours=1)) for j in claimed[25:]])
        events = await agent.read_outbox(10_000)
        await slow.apply_events(events)
        moved = await Syncer(fast, [agent], interval=1, batch_size=7).drain()
        assert moved == len(events)
        assert await agent.read_outbox(10) == []
        for job in claimed[:25]:
            assert _comparable(await fast.get_job(job.id)) == _comparable(
                await slow.get_job(job.id))
        done = await fast.get_job(claimed[0].id)
        assert done is not None and done.status is JobStatus.SUCCEEDED
        assert done.msg_data.get_str("text") == 'quote " and \\ backslash é'
        failed = await fast.get_job(claimed[20].id)
        assert failed is not None and failed.last_error == "boom\nline two"
        for job in claimed[25:]:  # waiting for a retry: only the attempt is in the history
            assert await fast.get_job(job.id) is None
            assert [a.error for a in await fast.get_attempts(job.id)] == ["again"]
    finally:
        await fast.close()
        await slow.close()
