"""NATS JetStream agent transport (see :mod:`.layout` for streams, subjects and consumers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from ...abc import AgentTransport, Capabilities, LeaseExtension, SchemaState, WakeUp
from ...errors import PayloadTooLargeError
from ...model import (
    AttemptResult,
    CancelOutcome,
    ClaimedJob,
    EnqueueResult,
    JobEvent,
    JobInfo,
    JobPage,
    JobQuery,
    LeaseRef,
    NewJob,
    RescueResult,
)
from .._common import OUTBOX_NATS_JSON
from . import rescue, results
from .claims import ClaimContext, Token, claim_messages
from .client import (
    Pipeline,
    Records,
    Request,
    connect,
    ensure_consumer,
    ensure_streams,
    pub_ack,
)
from .inbound import Puller
from .layout import MAX_PAYLOAD, Layout, NatsSettings
from .markers import CancelMarkers
from .notes import ClaimNotes
from .outbox import Outbox
from .queries import AgentQueries
from .records import JobBody, JobState, aware, epoch, now_epoch

NATS_CAPABILITIES = Capabilities(
    name="nats",
    listen_notify=True,
    skip_locked=True,
    delayed_delivery=False,
    multi_process=True,
    transient_errors=(ConnectionError, OSError, asyncio.TimeoutError, nats.errors.Error),
)

#: Publish acknowledgements outstanding at most during bulk enqueue (the messages are written
#: in chunks while earlier ones are being stored).
PUBLISH_WINDOW = 4096
#: Messages encoded and written at a time during bulk enqueue.
PUBLISH_CHUNK = 512
_CONSUMERS_TTL = 1.0
_WAITING_MAX = 10_000
_HEADROOM = 1024  # subject and headers travel with the body


def _size_bound(job: NewJob) -> int:
    """An upper bound of the encoded size of a job's message (JSON escapes a character into
    at most 12 bytes), so that only jobs near the limit are encoded before publishing."""
    text = (len(job.id) + len(job.definition_id) + len(job.lane) + len(job.msg_data)
            + len(job.metadata) + len(job.backoff) + len(job.idempotency_key or "")
            + len(job.schedule_id or "") + len(job.trigger.value))
    return 12 * text + 256


class NatsAgent(AgentTransport):
    """Agent transport on NATS JetStream (2.9 or later)."""

    capabilities = NATS_CAPABILITIES
    outbox_export_format = OUTBOX_NATS_JSON

    def __init__(self, settings: NatsSettings, agent_name: str, role: str = "agent") -> None:
        self.settings = settings
        self.agent_name = agent_name
        self.role = role
        self.layout = Layout.of(settings, agent_name)
        self.location = ",".join(settings.servers)
        self._nc: Client | None = None
        self._consumers: dict[tuple[str, int], float] = {}
        self._consumers_at = 0.0
        #: Jobs claimed by this instance: id -> (state revision or 0, state, body).
        self.claims: dict[str, tuple[int, JobState, JobBody]] = {}
        #: The parsed lease tokens of those claims, and each one's token.
        self.tokens: dict[str, Token] = {}
        self._token_of: dict[str, str] = {}
        self.markers = CancelMarkers(self)
        self.notes = ClaimNotes(self)
        self.queries = AgentQueries(self)
        #: Jobs this instance saw waiting for their due time: id -> (due, lane, definition).
        self.waiting: dict[str, tuple[float, str, str]] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    async def open(self) -> None:
        self._nc = await connect(self.settings, self.location)
        await ensure_streams(self.js, self.layout, self.settings)
        self.pipeline = Pipeline(self.nc)
        await self.pipeline.start()
        self.puller = Puller(self.nc)
        self.state = Records(self.js, self.pipeline, self.layout.state_stream)
        self.keys = Records(self.js, self.pipeline, self.layout.keys_stream)
        self.notes_records = Records(self.js, self.pipeline, self.layout.claims_stream)
        self.outbox = Outbox(self.js, self.pipeline, self.layout.events_stream,
                             self.layout.events_subject)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc = None

    async def drop(self) -> None:
        """Delete this agent's streams and everything in them (tests, decommissioning)."""
        layout = self.layout
        for stream in (layout.jobs_stream, layout.state_stream, layout.events_stream,
                       layout.keys_stream, layout.claims_stream):
            try:
                await self.js.delete_stream(stream)
            except nats.js.errors.NotFoundError:
                pass

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("NatsAgent used before open()")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    async def schema_state(self) -> SchemaState:
        return SchemaState(1, 1)

    async def migrate(self) -> list[int]:
        await ensure_streams(self.js, self.layout, self.settings)
        return []

    async def now(self) -> datetime:
        return aware(now_epoch())

    # -- enqueue ------------------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        now = now_epoch()
        results: list[EnqueueResult | None] = [None] * len(jobs)
        for index, job in enumerate(jobs):
            if job.idempotency_key is not None:
                holder = await self._hold_key(job.idempotency_key, job.id)
                if holder != job.id:
                    results[index] = EnqueueResult(holder, False)
        for job in jobs:
            if (job.lane, job.priority) not in self._consumers:
                await self._ensure_consumer(job.lane, job.priority, self.settings.ack_wait)
        pending = [(i, job) for i, job in enumerate(jobs) if results[i] is None]
        for _, job in pending:
            if job.scheduled_at is not None and epoch(job.scheduled_at) > now:
                self.remember_waiting(job.id, epoch(job.scheduled_at), job)
        bodies = [JobBody(job, epoch(job.scheduled_at) if job.scheduled_at else now, now)
                  for _, job in pending]
        limit = MAX_PAYLOAD - _HEADROOM
        for body in bodies:  # refuse the call before storing anything
            if _size_bound(body.job) > limit and len(encoded := body.encode()) > limit:
                raise PayloadTooLargeError(len(encoded), limit)
        subjects: dict[tuple[str, int], str] = {}

        def build(start: int, end: int) -> list[Request]:
            requests: list[Request] = []
            for body in bodies[start:end]:
                job = body.job
                prefix = subjects.get((job.lane, job.priority))
                if prefix is None:
                    prefix = subjects[(job.lane, job.priority)] = self.layout.job_subject(
                        job.lane, job.priority, "")
                requests.append((prefix + job.id, body.encode(),
                                 b"NATS/1.0\r\nNats-Msg-Id: %b\r\n\r\n" % job.id.encode()))
            return requests

        replies = await self.pipeline.request_built(len(bodies), build, in_flight=PUBLISH_WINDOW,
                                                    chunk=PUBLISH_CHUNK)
        for (index, job), reply in zip(pending, replies, strict=True):
            ack = pub_ack(reply)
            results[index] = EnqueueResult(job.id, not (ack and ack[1]))
        if pending:
            await self.nc.publish(self.layout.wake_subject, b"")
        return [r for r in results if r is not None]

    async def _hold_key(self, key: str, job_id: str) -> str:
        subject = self.layout.key_subject(key)
        if await self.keys.write(subject, job_id.encode(), 0) is not None:
            return job_id
        found = await self.keys.get(subject)
        return found[1].decode() if found else job_id

    async def _ensure_consumer(self, lane: str, priority: int, ack_wait: float) -> None:
        await ensure_consumer(self.js, self.layout, lane, priority, ack_wait)
        self._consumers[(lane, priority)] = ack_wait

    async def _lanes(self) -> dict[tuple[str, int], float]:
        if time.monotonic() - self._consumers_at > _CONSUMERS_TTL:
            for info in await self.js.consumers_info(self.layout.jobs_stream):
                name = info.name or ""
                if name.startswith("q-") and info.config.description is not None:
                    key = (info.config.description, int(name.rsplit("-", 1)[1]))
                    self._consumers[key] = info.config.ack_wait or 0.0
            self._consumers_at = time.monotonic()
        return self._consumers

    # -- claim --------------------------------------------------------------------------------
    async def claim(self, worker_id: str, *, lanes: Sequence[str] | None,
                    definitions: Sequence[str], limit: int, lease: timedelta) -> list[ClaimedJob]:
        known = await self._lanes()
        wanted = None if lanes is None else set(lanes)
        pairs = sorted((key for key in known if wanted is None or key[0] in wanted),
                       key=lambda key: -key[1])
        context = ClaimContext(self, worker_id, frozenset(definitions), lease.total_seconds(),
                               sent_at=now_epoch())
        taken: list[ClaimedJob] = []
        for lane, priority in pairs:
            if len(taken) >= limit:
                break
            if abs(known[(lane, priority)] - context.lease) > 1e-3:
                await self._ensure_consumer(lane, priority, context.lease)
            messages = await self.puller.pull(self.layout.jobs_stream,
                                              self.layout.consumer(lane, priority),
                                              limit - len(taken))
            if messages:
                taken.extend(await claim_messages(context, messages))
        taken.sort(key=lambda job: (-job.priority, job.scheduled_at))
        return taken

    # -- leases and results (see .results) ---------------------------------------------------
    async def extend_leases(self, worker_id: str, leases: Sequence[LeaseRef],
                            lease: timedelta) -> LeaseExtension:
        return await results.extend_leases(self, leases, lease)

    async def finish(self, results_: Sequence[AttemptResult]) -> set[str]:
        return await results.finish(self, results_)

    async def release(self, leases: Sequence[LeaseRef]) -> int:
        return await results.release(self, leases)

    async def body(self, job_id: str) -> JobBody | None:
        """The job's message body (known without a round trip for jobs claimed here)."""
        cached = self.claims.get(job_id)
        if cached is not None:
            return cached[2]
        found = await self.queries.find_message(job_id)
        return found[1] if found else None

    def forget_claim(self, job_id: str) -> None:
        """This instance is done with its claim of ``job_id`` (finished, released, lost)."""
        if self.claims.pop(job_id, None) is not None:
            self.notes.forget(job_id)
            self.tokens.pop(self._token_of.pop(job_id, ""), None)

    def remember_claim(self, job_id: str, held: tuple[int, JobState, JobBody], token: Token
                       ) -> str:
        """Note a claim made by this instance; returns its lease token."""
        encoded = token.encode()
        self.claims[job_id] = held
        self.tokens[encoded] = token
        self._token_of[job_id] = encoded
        return encoded

    def remember_waiting(self, job_id: str, due: float, job: NewJob) -> None:
        """Note a job that becomes due later (answers :meth:`next_due_in` cheaply)."""
        if len(self.waiting) < _WAITING_MAX:
            self.waiting[job_id] = (due, job.lane, job.definition_id)

    async def next_due_in(self, definitions: Sequence[str],
                          lanes: Sequence[str] | None) -> timedelta | None:
        now = now_epoch()
        self.waiting = {k: v for k, v in self.waiting.items() if v[0] > now}
        dues = [due for due, lane, definition in self.waiting.values()
                if definition in definitions and (lanes is None or lane in lanes)]
        return timedelta(seconds=min(dues) - now) if dues else None

    async def listen(self, wake_up: WakeUp) -> None:
        async def on_message(_: Msg) -> None:
            wake_up()

        await self.nc.subscribe(self.layout.wake_subject, cb=on_message)

    # -- cold paths (see .queries) -------------------------------------------------------------
    async def get_job(self, job_id: str) -> JobInfo | None:
        return await self.queries.get_job(job_id)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return await self.queries.list_jobs(query)

    async def queue_depth(self) -> dict[str, int]:
        return await self.queries.queue_depth()

    async def cancel(self, job_id: str) -> CancelOutcome:
        return await self.queries.cancel(job_id)

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        return await self.queries.reschedule(job_id, when)

    async def retry_now(self, job_id: str) -> bool:
        return await self.queries.reschedule(job_id, await self.now())

    async def rescue_expired(self, *, limit: int, max_attempts_reason: str) -> RescueResult:
        return await rescue.rescue_expired(self, limit=limit,
                                           max_attempts_reason=max_attempts_reason)

    async def read_outbox(self, limit: int) -> list[JobEvent]:
        return await self.outbox.read(limit)

    async def export_outbox(self, limit: int) -> bytes | None:
        return await self.outbox.export(limit)

    async def trim_outbox(self, seqs: Sequence[int]) -> int:
        return await self.outbox.trim(seqs)
