"""Lease keeping: extends the leases a worker holds, in batch, from a thread of its own.

The keeper runs its own event loop in its own thread with its own connection, so a handler that
blocks the worker's event loop (or hogs the CPU) cannot starve lease renewal. It also fences: a job
whose lease could not be renewed in time is reported as lost *before* its lease can expire, so the
worker stops it and no two workers ever run it at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ..abc import AgentTransport
from ..model import LeaseRef

log = logging.getLogger("jobmaster.leases")

#: Reports job ids from the keeper thread; called on the worker's event loop.
LeaseCallback = Callable[[list[str]], None]


@dataclass(slots=True)
class _Lease:
    token: str
    fence_at: float  # time.monotonic() after which the worker must stop the job


class LeaseBook:
    """Thread-safe record of the leases a worker holds and when each must be fenced."""

    def __init__(self, lease: timedelta) -> None:
        self.lease_seconds = lease.total_seconds()
        # Stop a job this long before its lease could expire: covers a slow round trip.
        self.margin = min(max(self.lease_seconds * 0.15, 0.3), self.lease_seconds / 2)
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def add(self, job_id: str, token: str, requested_at: float) -> None:
        """Track a lease obtained by a request sent at monotonic time ``requested_at``."""
        fence_at = requested_at + self.lease_seconds - self.margin
        with self._lock:
            self._leases[job_id] = _Lease(token, fence_at)

    def remove(self, job_id: str) -> None:
        """Stop tracking a lease (finished, released or lost)."""
        with self._lock:
            self._leases.pop(job_id, None)

    def refs(self) -> list[LeaseRef]:
        """A snapshot of the held leases."""
        with self._lock:
            return [LeaseRef(job_id, lease.token) for job_id, lease in self._leases.items()]

    def token(self, job_id: str) -> str | None:
        """The token of a held lease."""
        with self._lock:
            lease = self._leases.get(job_id)
            return lease.token if lease else None

    def renewed(self, job_ids: frozenset[str], requested_at: float) -> None:
        """Push the fence time of renewed leases (the request was sent at ``requested_at``)."""
        fence_at = requested_at + self.lease_seconds - self.margin
        with self._lock:
            for job_id in job_ids:
                lease = self._leases.get(job_id)
                if lease is not None:
                    lease.fence_at = max(lease.fence_at, fence_at)

    def due_for_fencing(self, now: float) -> list[str]:
        """Leases that could not be renewed in time: the worker must stop these jobs now."""
        with self._lock:
            return [job_id for job_id, lease in self._leases.items() if lease.fence_at <= now]

    def __len__(self) -> int:
        with self._lock:
            return len(self._leases)


class LeaseKeeper:
    """Renews the leases of a :class:`LeaseBook` every ``lease / 3`` from its own thread."""

    def __init__(
        self,
        *,
        worker_id: str,
        book: LeaseBook,
        lease: timedelta,
        make_transport: Callable[[], AgentTransport],
        on_lost: LeaseCallback,
        on_cancel: LeaseCallback,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.worker_id = worker_id
        self.book = book
        self.lease = lease
        self.interval = max(lease.total_seconds() / 3, 0.05)
        self._make_transport = make_transport
        self._on_lost = on_lost
        self._on_cancel = on_cancel
        self._loop = loop
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._transport: AgentTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self.renewals = 0
        self.failures = 0

    def start(self) -> None:
        """Start the keeper thread and wait until its connection is open."""
        self._thread = threading.Thread(
            target=self._run, name=f"jm-leases-{self.worker_id}", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self) -> None:
        """Stop the thread (leases are no longer renewed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def start_on_loop(self, transport: AgentTransport) -> None:
        """Renew from the caller's event loop with ``transport`` (for in-process transports)."""
        self._task = asyncio.get_running_loop().create_task(self._loop_main(transport))

    async def stop_async(self) -> None:
        """Stop, whichever way the keeper was started."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        else:
            await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _loop_main(self, transport: AgentTransport) -> None:
        while True:
            await asyncio.sleep(min(self.interval, 0.25))
            await self.renew_once(transport)
            self._fence(time.monotonic())

    async def _main(self) -> None:
        transport = self._make_transport()
        try:
            await transport.open()
        except Exception:
            log.exception(
                "lease keeper of %s cannot connect; leases will be fenced", self.worker_id
            )
            transport = None  # type: ignore[assignment]
        self._transport = transport
        self._ready.set()
        check = min(self.interval, 0.25)
        next_renewal = time.monotonic() + self.interval
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_renewal and transport is not None:
                    await self.renew_once(transport)
                    next_renewal = time.monotonic() + self.interval
                self._fence(time.monotonic())
                await asyncio.sleep(check)
        finally:
            if transport is not None:
                await transport.close()

    async def renew_once(self, transport: AgentTransport) -> None:
        """Extend every held lease in one round trip and report the lost and cancelled ones."""
        refs = self.book.refs()
        if not refs:
            return
        sent = time.monotonic()
        try:
            result = await asyncio.wait_for(
                transport.extend_leases(self.worker_id, refs, self.lease),
                timeout=max(self.interval, 1.0),
            )
        except Exception as exc:
            self.failures += 1
            log.warning(
                "lease renewal of %d jobs failed (%s); they will be fenced if this lasts",
                len(refs),
                exc,
            )
            return
        self.renewals += 1
        self.book.renewed(result.held, sent)
        lost = [ref.job_id for ref in refs if ref.job_id not in result.held]
        if lost:
            self._report(self._on_lost, lost)
        if result.cancel_requested:
            self._report(self._on_cancel, sorted(result.cancel_requested))

    def _fence(self, now: float) -> None:
        expired = self.book.due_for_fencing(now)
        if expired:
            log.error("fencing %d jobs: their leases could not be renewed in time", len(expired))
            for job_id in expired:
                self.book.remove(job_id)
            self._report(self._on_lost, expired)

    def _report(self, callback: LeaseCallback, job_ids: list[str]) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, job_ids)
