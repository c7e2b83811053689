"""Scheduling one-off jobs: now, at a time, after a delay, in bulk; cancel and reschedule.

The async :class:`Scheduler` is the implementation; :class:`SyncScheduler` runs the same calls
from plain threads (Django or Flask views, scripts) on the application's event loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import PayloadTooLargeError
from .handlers import HandlerSpec
from .messages import MessageData, Metadata
from .model import Backoff, CancelOutcome, NewJob, Priority, TriggerSource
from .recurring.calls import RecurringCalls, SyncRecurringCalls

if TYPE_CHECKING:
    from .app import JobMaster

T = TypeVar("T")
DataLike = MessageData | Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """The receipt of a scheduling call. ``created`` is False when an idempotency key matched an
    existing job (whose id is returned)."""

    id: str
    definition_id: str
    scheduled_at: datetime | None
    lane: str
    priority: Priority
    created: bool = True


def new_job_id() -> str:
    """A new random job id (UUID4, hex with dashes)."""
    return str(uuid.uuid4())


def _aware(when: datetime, name: str) -> datetime:
    if not isinstance(when, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(when).__name__}")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            f"{name} is a naive datetime ({when.isoformat()}); pass an aware one, "
            "e.g. datetime.now(timezone.utc) or datetime(..., tzinfo=ZoneInfo('Europe/Paris'))"
        )
    return when.astimezone(UTC)


class Scheduler(RecurringCalls):
    """Creates, cancels and reschedules jobs and recurring schedules. Obtain it as
    ``app.scheduler``."""

    def __init__(self, app: JobMaster) -> None:
        self._app = app

    async def once_now(self, handler: Any, data: DataLike = None, **overrides: Any) -> ScheduledJob:
        """Run ``handler`` as soon as a worker is free. See :meth:`once_at` for the overrides."""
        return (await self._schedule(handler, [data], None, overrides))[0]

    async def once_at(
        self, handler: Any, when: datetime, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        """Run ``handler`` at ``when`` (an aware datetime; a naive one is refused).

        Overrides (all optional): ``priority``, ``lane``, ``timeout`` (timedelta or seconds),
        ``max_retries``, ``backoff``, ``metadata`` (merged over the handler's), and
        ``idempotency_key`` (a second call with the same key returns the first job).
        """
        return (await self._schedule(handler, [data], _aware(when, "when"), overrides))[0]

    async def once_after(
        self, handler: Any, delay: timedelta | float, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        """Run ``handler`` after ``delay`` (timedelta or seconds; not negative)."""
        delay_td = delay if isinstance(delay, timedelta) else timedelta(seconds=float(delay))
        if delay_td < timedelta(0):
            raise ValueError(f"delay must not be negative, got {delay_td}")
        when = datetime.now(UTC) + delay_td if delay_td else None
        return (await self._schedule(handler, [data], when, overrides))[0]

    async def bulk_once_now(
        self, handler: Any, data: Iterable[DataLike], **overrides: Any
    ) -> list[ScheduledJob]:
        """Enqueue many jobs of one handler in as few round trips as possible (one per
        ``bulk_batch_size``, default 5,000). ``idempotency_key`` is not accepted here."""
        if "idempotency_key" in overrides:
            raise ValueError(
                "idempotency_key cannot be shared by a bulk call; schedule keyed jobs one by one"
            )
        batch = int(overrides.pop("bulk_batch_size", 5000))
        items = list(data)
        receipts: list[ScheduledJob] = []
        for start in range(0, len(items), batch):
            receipts.extend(
                await self._schedule(handler, items[start : start + batch], None, overrides)
            )
        return receipts

    async def cancel(self, job_id: str) -> bool:
        """Cancel a job that has not run yet; a running job gets a cooperative signal
        (``job.cancelled``). Returns False when the job is unknown or already final."""
        return await self._app._cancel(job_id) is not CancelOutcome.NOT_FOUND

    async def reschedule(self, job_id: str, when: datetime) -> bool:
        """Move a job that is still waiting to ``when`` (aware). False if it is not waiting."""
        return await self._app._reschedule(job_id, _aware(when, "when"))

    async def retry_now(self, job_id: str) -> bool:
        """Make a waiting job (for example one waiting for its retry) due now."""
        return await self._app._retry_now(job_id)

    # -- building jobs ----------------------------------------------------------------------
    async def _schedule(
        self,
        handler: Any,
        items: Sequence[DataLike],
        when: datetime | None,
        overrides: dict[str, Any],
    ) -> list[ScheduledJob]:
        app = self._app
        app._require_started()
        spec = app.registry.resolve(handler)
        template = self._template(spec, when, overrides)
        limit = app.config.options.max_message_bytes - _byte_size(template.metadata)
        jobs = [_job_from(template, _encode_data(item), limit) for item in items]
        results = await app._enqueue(jobs)
        priority = Priority(template.priority)
        return [
            ScheduledJob(r.id, template.definition_id, when, template.lane, priority, r.created)
            for r in results
        ]

    def _template(
        self, spec: HandlerSpec, when: datetime | None, overrides: dict[str, Any]
    ) -> NewJob:
        """Everything the jobs of one call share, resolved and validated once."""
        options = self._app.config.options
        unknown = set(overrides) - _OVERRIDES
        if unknown:
            raise TypeError(
                f"unknown scheduling option(s): {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(o for o in _OVERRIDES if not o.startswith('_')))}"
            )
        max_retries = overrides.get("max_retries", spec.max_retries)
        if max_retries is None:
            max_retries = options.default_max_retries
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative int, got {max_retries!r}")
        timeout = _timeout(overrides.get("timeout", spec.timeout), options.default_timeout)
        backoff = overrides.get("backoff") or spec.backoff
        if not isinstance(backoff, Backoff):
            raise TypeError(f"backoff must be a jobmaster.Backoff, got {type(backoff).__name__}")
        priority = Priority(overrides.get("priority", spec.priority))
        lane = overrides.get("lane") or spec.lane
        if not isinstance(lane, str) or not lane or len(lane) > 64:
            raise ValueError(f"lane must be a non-empty string of at most 64 characters: {lane!r}")
        meta = Metadata.from_value({**spec.metadata, **dict(overrides.get("metadata") or {})})
        key = overrides.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or not key or len(key) > 200):
            raise ValueError("idempotency_key must be a non-empty string of at most 200 characters")
        return NewJob(
            id="",
            definition_id=spec.definition_id,
            lane=lane,
            priority=int(priority),
            scheduled_at=when,
            msg_data="",
            metadata=meta.encode(),
            max_retries=max_retries,
            timeout_ms=int(timeout.total_seconds() * 1000),
            backoff=json.dumps(backoff.to_json()),
            idempotency_key=key,
            schedule_id=overrides.get("_schedule_id"),
            trigger=overrides.get("_trigger", TriggerSource.ONCE),
        )


def _encode_data(data: DataLike) -> str:
    return "{}" if data is None else MessageData.from_value(data).encode()


def _byte_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _job_from(template: NewJob, msg_data: str, limit: int) -> NewJob:
    """One job of a call: the template with its own id and message data."""
    size = _byte_size(msg_data)
    if size > limit:
        total = size + _byte_size(template.metadata)
        raise PayloadTooLargeError(total, total - size + limit)
    t = template
    return NewJob(new_job_id(), t.definition_id, t.lane, t.priority, t.scheduled_at, msg_data,
                  t.metadata, t.max_retries, t.timeout_ms, t.backoff, t.idempotency_key,
                  t.schedule_id, t.trigger)


_OVERRIDES = frozenset(
    {
        "priority",
        "lane",
        "timeout",
        "max_retries",
        "backoff",
        "metadata",
        "idempotency_key",
        "_schedule_id",
        "_trigger",
    }
)


def _timeout(value: timedelta | float | None, default: timedelta) -> timedelta:
    if value is None:
        return default
    result = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    if result <= timedelta(0):
        raise ValueError(f"timeout must be positive, got {value!r}")
    return result


class SyncScheduler(SyncRecurringCalls):
    """The scheduler's calls for plain threads: each runs on the application's event loop and
    blocks until done. Do not call it from the loop's own thread (use ``app.scheduler``)."""

    def __init__(
        self, scheduler: Scheduler, loop_getter: Callable[[], asyncio.AbstractEventLoop]
    ) -> None:
        self._scheduler = scheduler
        self._loop_getter = loop_getter

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = self._loop_getter()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError(
                "scheduler_sync called from the event loop thread: "
                "use `await app.scheduler...` there"
            )

        async def call() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), loop)
        return future.result()

    def once_now(self, handler: Any, data: DataLike = None, **overrides: Any) -> ScheduledJob:
        """See :meth:`Scheduler.once_now`."""
        return self._run(lambda: self._scheduler.once_now(handler, data, **overrides))

    def once_at(
        self, handler: Any, when: datetime, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        """See :meth:`Scheduler.once_at`."""
        return self._run(lambda: self._scheduler.once_at(handler, when, data, **overrides))

    def once_after(
        self, handler: Any, delay: timedelta | float, data: DataLike = None, **overrides: Any
    ) -> ScheduledJob:
        """See :meth:`Scheduler.once_after`."""
        return self._run(lambda: self._scheduler.once_after(handler, delay, data, **overrides))

    def bulk_once_now(
        self, handler: Any, data: Iterable[DataLike], **overrides: Any
    ) -> list[ScheduledJob]:
        """See :meth:`Scheduler.bulk_once_now`."""
        items = list(data)
        return self._run(lambda: self._scheduler.bulk_once_now(handler, items, **overrides))

    def cancel(self, job_id: str) -> bool:
        """See :meth:`Scheduler.cancel`."""
        return self._run(lambda: self._scheduler.cancel(job_id))

    def reschedule(self, job_id: str, when: datetime) -> bool:
        """See :meth:`Scheduler.reschedule`."""
        return self._run(lambda: self._scheduler.reschedule(job_id, when))

    def retry_now(self, job_id: str) -> bool:
        """See :meth:`Scheduler.retry_now`."""
        return self._run(lambda: self._scheduler.retry_now(job_id))
