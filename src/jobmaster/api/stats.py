"""The cluster overview behind the dashboard and ``/metrics``, computed at most once per
``min_poll_interval`` however many clients poll (the answer is cached).

Sources: queue depth per agent and lane (``AgentTransport.queue_depth``); jobs running
(the agents' PROCESSING jobs); the history of the last ``window`` (finished jobs by status,
throughput per minute and end-to-end latency, from ``list_jobs`` with a bounded scan); sync lag
(age of the oldest event still in each agent's outbox); live workers (topology heartbeats);
and the counters of workers running in this process (``Worker.stats``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..model import JobInfo, JobStatus
from .serialize import worker_to_dict

if TYPE_CHECKING:
    from ..app import JobMaster

#: Upper bounds (seconds) of the latency histogram buckets.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
FINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(slots=True)
class Overview:
    """One snapshot of the cluster."""

    taken_at: datetime
    window_minutes: int
    queue_depth: dict[str, dict[str, int]]
    running: int
    finished: dict[str, int]
    finished_capped: bool
    throughput: list[dict[str, Any]]
    latency_buckets: list[tuple[float, int]]
    latency_sum: float
    latency_count: int
    sync: dict[str, dict[str, Any]]
    workers: list[dict[str, Any]]
    worker_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    runtime_buckets: list[tuple[float, int]] = field(default_factory=list)
    runtime_sum: float = 0.0
    runtime_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the dashboard."""
        return {
            "taken_at": self.taken_at.isoformat(),
            "window_minutes": self.window_minutes,
            "counts": {"queued": sum(sum(v.values()) for v in self.queue_depth.values()),
                       "processing": self.running, **self.finished},
            "counts_capped": self.finished_capped,
            "queue_depth": self.queue_depth,
            "throughput": self.throughput,
            "sync": self.sync,
            "live_workers": sum(1 for w in self.workers if w["alive"]),
            "workers": self.workers,
        }


class StatsCollector:
    """Computes :class:`Overview` snapshots; see the module docstring."""

    def __init__(self, app: JobMaster, *, min_interval: float, window_minutes: int = 60,
                 scan_limit: int = 2000, drains: set[str] | None = None) -> None:
        self.app = app
        self.min_interval = min_interval
        self.window_minutes = window_minutes
        self.scan_limit = scan_limit
        self.drains = drains if drains is not None else set()
        self._cached: tuple[float, Overview] | None = None
        self._lock = asyncio.Lock()

    async def overview(self) -> Overview:
        """The cached snapshot, refreshed when older than ``min_interval``."""
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.min_interval:
                return self._cached[1]
            snapshot = await self._compute()
            self._cached = (time.monotonic(), snapshot)
            return snapshot

    async def _compute(self) -> Overview:
        app = self.app
        master = app._require_started()
        now = datetime.now(UTC)
        depth = {name: dict(await agent.queue_depth()) for name, agent in app.agents.items()}
        running = len((await app.list_jobs(status=JobStatus.PROCESSING, limit=1000)).items)
        recent, capped = await self._recent_finished(now)
        finished = {s.value: 0 for s in FINAL}
        for job in recent:
            finished[job.status.value] += 1
        latency, total = _latency(recent)
        runs = _run_times(recent)
        workers = [worker_to_dict(w, now, w.id in self.drains)
                   for w in await master.list_workers()]
        return Overview(
            taken_at=now, window_minutes=self.window_minutes, queue_depth=depth,
            running=running, finished=finished, finished_capped=capped,
            throughput=_per_minute(recent, now, self.window_minutes),
            latency_buckets=latency, latency_sum=total, latency_count=len(recent),
            sync=await self._sync(now), workers=workers, worker_stats=self._worker_stats(),
            runtime_buckets=_histogram(runs), runtime_sum=sum(runs), runtime_count=len(runs),
        )

    async def _recent_finished(self, now: datetime) -> tuple[list[JobInfo], bool]:
        since = now - timedelta(minutes=self.window_minutes)
        found: list[JobInfo] = []
        capped = False
        for status in FINAL:
            cursor: str | None = None
            seen = 0
            while True:
                page = await self.app.list_jobs(status=status, created_from=since,
                                                limit=500, cursor=cursor)
                found.extend(page.items)
                seen += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
                if seen >= self.scan_limit:
                    capped = True
                    break
        return found, capped

    async def _sync(self, now: datetime) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, agent in self.app.agents.items():
            events = await agent.read_outbox(1000)
            lag = 0.0
            if events:
                first = events[0]
                stamp = first.finished_at or (first.attempt.finished_at if first.attempt else None)
                lag = max(0.0, (now - (stamp or first.created_at)).total_seconds())
            out[name] = {"pending_events": len(events), "pending_capped": len(events) >= 1000,
                         "lag_seconds": round(lag, 3)}
        return out

    def _worker_stats(self) -> dict[str, dict[str, int]]:
        return {w.worker_id: {"claimed": w.stats.claimed, "succeeded": w.stats.succeeded,
                              "failed": w.stats.failed, "retried": w.stats.retried,
                              "cancelled": w.stats.cancelled, "lost": w.stats.lost}
                for w in self.app.workers}


def _per_minute(jobs: list[JobInfo], now: datetime, minutes: int) -> list[dict[str, Any]]:
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    counts = [{"succeeded": 0, "failed": 0, "cancelled": 0} for _ in range(minutes)]
    for job in jobs:
        moment = job.finished_at or job.created_at
        index = int((moment - start).total_seconds() // 60)
        if 0 <= index < minutes:
            counts[index][job.status.value] += 1
    return [{"minute": (start + timedelta(minutes=i)).isoformat(), **counts[i]}
            for i in range(minutes)]


def _latency(jobs: list[JobInfo]) -> tuple[list[tuple[float, int]], float]:
    """Cumulative histogram of end-to-end latency (finished_at - scheduled_at)."""
    values = [max(0.0, (j.finished_at - j.scheduled_at).total_seconds())
              for j in jobs if j.finished_at is not None]
    return [(bound, sum(1 for v in values if v <= bound)) for bound in LATENCY_BUCKETS], sum(values)


def _run_times(jobs: list[JobInfo]) -> list[float]:
    """How long each finished attempt of these jobs ran (attempt start to end)."""
    return [max(0.0, (a.finished_at - a.started_at).total_seconds())
            for job in jobs for a in job.attempts if a.finished_at is not None]


def _histogram(values: list[float]) -> list[tuple[float, int]]:
    return [(bound, sum(1 for v in values if v <= bound)) for bound in LATENCY_BUCKETS]
