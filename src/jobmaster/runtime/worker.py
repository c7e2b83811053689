"""The worker loop: claim in batches, run under a concurrency limit, report results in batches.

One :class:`Worker` serves one agent connection and a set of lanes. Its pieces:

- a fetch loop that claims up to ``batch_size`` jobs per round trip while it has room (running
  slots plus a small prefetch), and otherwise waits for a wake-up (LISTEN/NOTIFY) or polls;
- one task per running job (async handlers on the loop, sync ones in a thread pool);
- a completion buffer that writes results back in batches, fenced by lease token;
- a :class:`~jobmaster.runtime.leases.LeaseKeeper` thread renewing leases and fencing lost ones.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..abc import AgentTransport
from ..config import WorkerConfig
from ..handlers import HandlerRegistry, JobContext
from ..model import AttemptOutcome, AttemptResult, Backoff, ClaimedJob, LeaseRef
from .completion import CompletionBuffer
from .execution import Outcome, build_context, run_handler, to_result
from .leases import LeaseBook, LeaseKeeper

log = logging.getLogger("jobmaster.worker")


@dataclass(slots=True)
class WorkerStats:
    """Counters of one worker since it started."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    lost: int = 0
    released: int = 0
    #: time.time() of the last batch of results written (benchmarks).
    last_flush_at: float = 0.0


@dataclass(slots=True)
class _Running:
    job: ClaimedJob
    context: JobContext | None
    task: asyncio.Task[None] | None = None
    fenced: bool = False


class Worker:
    """Claims and runs jobs from one agent transport. See the module docstring."""

    def __init__(
        self,
        *,
        worker_id: str,
        cluster_id: str,
        config: WorkerConfig,
        transport: AgentTransport,
        registry: HandlerRegistry,
        make_lease_transport: Callable[[], AgentTransport] | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.cluster_id = cluster_id
        self.config = config
        self.transport = transport
        self.registry = registry
        self.stats = WorkerStats()
        self._lanes = None if config.all_lanes else list(config.lanes)
        self._definitions = registry.definition_ids
        self._capacity = config.concurrency + config.prefetch_count
        self._claim_threshold = max(1, min(config.batch_size, self._capacity // 2))
        self._book = LeaseBook(config.lease)
        self._make_lease_transport = make_lease_transport
        self._keeper: LeaseKeeper | None = None
        self._running: dict[str, _Running] = {}
        self._buffer: deque[ClaimedJob] = deque()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.sync_threads or config.concurrency,
            thread_name_prefix=f"jm-{worker_id[:12]}",
        )
        self._completion = CompletionBuffer(
            transport, max_batch=max(config.batch_size, 100), on_flushed=self._on_flushed
        )
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._fetch_task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Start lease keeping, wake-ups and the fetch loop."""
        loop = asyncio.get_running_loop()
        # With its own connection the keeper runs in a thread of its own (a blocking handler
        # cannot starve it); a transport that cannot be opened twice (memory) is renewed from
        # this loop instead.
        own_thread = self._make_lease_transport is not None
        self._keeper = LeaseKeeper(
            worker_id=self.worker_id,
            book=self._book,
            lease=self.config.lease,
            make_transport=self._make_lease_transport or (lambda: self.transport),
            on_lost=self._on_lost,
            on_cancel=self._on_cancel_requested,
            loop=loop,
        )
        if own_thread:
            await asyncio.to_thread(self._keeper.start)
        else:
            self._keeper.start_on_loop(self.transport)
        if self.transport.capabilities.listen_notify:
            await self.transport.listen(self._wake.set)
        self._completion.start()
        self._fetch_task = asyncio.create_task(
            self._fetch_loop(), name=f"jm-fetch-{self.worker_id}"
        )

    async def stop(self, grace: timedelta | None = None) -> None:
        """Graceful stop: stop claiming, release prefetched jobs, let running jobs finish within
        ``grace`` (default: the worker's ``shutdown_grace``), then abandon the rest back to the
        queue so another worker runs them at once."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._room.set()
        if self._fetch_task is not None:
            await asyncio.gather(self._fetch_task, return_exceptions=True)
        await self._release_buffer()
        grace_s = (grace if grace is not None else self.config.shutdown_grace).total_seconds()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=grace_s)
        except TimeoutError:
            await self._abandon_running()
        await self._completion.stop()
        if self._keeper is not None:
            await self._keeper.stop_async()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def in_flight(self) -> int:
        """Jobs claimed by this worker and not yet reported."""
        return len(self._running) + len(self._buffer)

    async def run_once(self) -> int:
        """Claim one batch, run it to the end and write the results. Returns the jobs run."""
        jobs = await self._claim(self.config.batch_size)
        for job in jobs:
            self._dispatch(job)
        await self._idle.wait()
        await self._completion.flush()
        return len(jobs)

    # -- fetching ---------------------------------------------------------------------------
    async def _fetch_loop(self) -> None:
        poll = (self.config.poll_interval.total_seconds() if self.config.poll_interval
                else 0.5 if self.transport.capabilities.listen_notify else 0.05)
        errors = 0
        while not self._stopping:
            room = self._capacity - self.in_flight
            if room < self._claim_threshold:
                self._room.clear()
                await self._room.wait()
                continue
            want = min(self.config.batch_size, room)
            self._wake.clear()
            try:
                jobs = await self._claim(want)
                errors = 0
            except Exception as exc:
                errors += 1
                # Contention (a busy SQLite file, a dropped connection) clears fast: retry soon,
                # or this worker starves while the others work. Anything else backs off.
                if isinstance(exc, self.transport.capabilities.transient_errors):
                    delay = min(0.05 * errors, 0.5)
                else:
                    delay = min(0.1 * 2**errors, 5.0)
                log.warning("claim failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            for job in jobs:
                self._dispatch(job)
            if len(jobs) < want and not self._stopping:
                await self._wait_for_work(poll)

    async def _wait_for_work(self, poll: float) -> None:
        timeout = await self._until_next_due(poll)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        except TimeoutError:
            pass

    async def _until_next_due(self, poll: float) -> float:
        """Seconds to wait, at most ``poll``: no longer than until the next queued job is due,
        since a job enqueued for later (a recurring slot) sends no wake-up when it comes due.
        The delay is computed by the backend's clock (no skew)."""
        try:
            due_in = await self.transport.next_due_in(self._definitions, self._lanes)
        except Exception:
            return poll
        if due_in is None:
            return poll
        return max(0.0, min(poll, due_in.total_seconds()))

    async def _claim(self, limit: int) -> list[ClaimedJob]:
        sent = time.monotonic()
        jobs = await self.transport.claim(
            self.worker_id,
            lanes=self._lanes,
            definitions=self._definitions,
            limit=limit,
            lease=self.config.lease,
        )
        for job in jobs:
            self._book.add(job.id, job.lease_token, sent)
        self.stats.claimed += len(jobs)
        return jobs

    def _dispatch(self, job: ClaimedJob) -> None:
        if len(self._running) < self.config.concurrency:
            self._start(job)
        else:
            self._buffer.append(job)

    # -- running ----------------------------------------------------------------------------
    def _start(self, job: ClaimedJob) -> None:
        self._idle.clear()
        running = _Running(job, None)
        self._running[job.id] = running
        running.task = asyncio.create_task(self._execute(running))

    async def _execute(self, running: _Running) -> None:
        job = running.job
        started = datetime.now(UTC)
        spec = self.registry.get(job.definition_id)
        try:
            if spec is None:  # cannot happen: claims filter by registered definitions
                outcome = Outcome(AttemptOutcome.FAILED, "handler not registered", retryable=True)
            else:
                try:
                    running.context = build_context(job, self.cluster_id)
                except ValueError as exc:
                    outcome = Outcome(
                        AttemptOutcome.FAILED, f"decode_error: {exc}", retryable=False
                    )
                else:
                    outcome = await run_handler(spec, running.context, self._pool)
        except asyncio.CancelledError:
            outcome = Outcome(AttemptOutcome.ABANDONED, "worker stopped before the job finished")
        finally:
            self._running.pop(job.id, None)
            self._next_from_buffer()
        if running.fenced:
            return  # the lease is lost: another worker owns the job now
        backoff = Backoff.from_json(json.loads(job.backoff)) if outcome.error else Backoff()
        result = to_result(
            job, outcome, worker_id=self.worker_id, started_at=started, backoff=backoff
        )
        if outcome.outcome is AttemptOutcome.ABANDONED:
            result.retry_delay = timedelta(0)
        self._count(result)
        self._completion.add(result)

    def _next_from_buffer(self) -> None:
        while self._buffer and len(self._running) < self.config.concurrency and not self._stopping:
            self._start(self._buffer.popleft())
        if not self._running:
            self._idle.set()
        self._room.set()

    def _count(self, result: AttemptResult) -> None:
        if result.outcome is AttemptOutcome.SUCCEEDED:
            self.stats.succeeded += 1
        elif result.outcome is AttemptOutcome.CANCELLED:
            self.stats.cancelled += 1
        elif result.retry_delay is not None:
            self.stats.retried += 1
        else:
            self.stats.failed += 1

    def _on_flushed(self, results: list[AttemptResult], accepted: set[str]) -> None:
        self.stats.last_flush_at = time.time()
        for result in results:
            self._book.remove(result.job_id)
            if result.job_id not in accepted:
                log.warning("late result of job %s rejected: its lease was lost", result.job_id)

    # -- leases, cancellation, stop ---------------------------------------------------------
    def _on_lost(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self._book.remove(job_id)
            self.stats.lost += 1
            running = self._running.get(job_id)
            if running is not None:
                running.fenced = True
                if running.context is not None:
                    running.context.cancelled.set()
                if running.task is not None:
                    running.task.cancel()
                log.error("job %s lost its lease; stopped it (another worker may run it)", job_id)
            else:
                self._buffer = deque(j for j in self._buffer if j.id != job_id)

    def _on_cancel_requested(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            running = self._running.get(job_id)
            if running is not None and running.context is not None:
                running.context.cancelled.set()

    async def _release_buffer(self) -> None:
        jobs, self._buffer = list(self._buffer), deque()
        if not jobs:
            return
        refs = [LeaseRef(job.id, job.lease_token) for job in jobs]
        try:
            self.stats.released += await self.transport.release(refs)
        except Exception as exc:
            log.warning(
                "could not release %d prefetched jobs (%s): they return after their lease expires",
                len(refs),
                exc,
            )
        for job in jobs:
            self._book.remove(job.id)
        if not self._running:
            self._idle.set()

    async def _abandon_running(self) -> None:
        tasks = [r.task for r in self._running.values() if r.task is not None]
        for running in self._running.values():
            if running.context is not None:
                running.context.cancelled.set()
        log.warning("grace period over: abandoning %d running jobs back to the queue", len(tasks))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
