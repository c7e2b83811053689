"""The recurring calls of ``app.scheduler`` and ``app.scheduler_sync`` (API.md names)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .records import Misfire, ScheduleInfo, ScheduleKind, ScheduleQuery, ScheduleStatus
from .service import new_schedule_id

if TYPE_CHECKING:
    from ..app import JobMaster
    from ..scheduler import Scheduler

T = TypeVar("T")


class RecurringCalls:
    """Mixed into :class:`jobmaster.scheduler.Scheduler`."""

    _app: JobMaster

    async def recurring(
        self,
        handler: Any,
        expression: Any,
        data: Any = None,
        *,
        start_after: datetime | None = None,
        end_before: datetime | None = None,
        misfire: Misfire | str = Misfire.SKIP,
        allow_overlap: bool = True,
        catch_up_limit: int = 100,
        **overrides: Any,
    ) -> ScheduleInfo:
        """Run ``handler`` on every occurrence of ``expression``: a ``timedelta`` (at least one
        second; anchored at ``start_after`` when given), a cron text (5 or 6 fields, or
        ``@daily``-style), a natural text (``"every day at 09:00 tz Europe/Paris"``), or a
        ``jm.Cron(...)``. Cron and natural texts without a zone use the cluster's ``timezone``.

        ``start_after`` / ``end_before`` (aware) bound the slots; ``misfire`` says what to do
        with slots missed while no planner ran (SKIP, RUN_ONCE, CATCH_UP up to
        ``catch_up_limit``); ``allow_overlap=False`` skips a slot while the previous job is
        still queued or running past its due time. Overrides as for ``once_now`` (except
        ``idempotency_key``). Raises ``ValueError`` naming the invalid input.
        """
        service = self._app.recurring
        self._app._require_started()
        record = service.build(
            handler, expression, data, kind=ScheduleKind.DYNAMIC, schedule_id=new_schedule_id(),
            start_after=start_after, end_before=end_before, misfire=misfire,
            allow_overlap=allow_overlap, catch_up_limit=catch_up_limit, **overrides)
        return await service.create(record)

    async def get_schedule(self, schedule_id: str) -> ScheduleInfo | None:
        """A schedule by id, or None."""
        return await self._app.recurring.get(schedule_id)

    async def list_schedules(
        self,
        *,
        status: ScheduleStatus | str | None = None,
        kind: ScheduleKind | str | None = None,
        definition: Any = None,
        profile_id: str | None = None,
        limit: int = 100,
        after_id: str | None = None,
    ) -> list[ScheduleInfo]:
        """Schedules by id, filtered; page with ``after_id`` = the last id of a page."""
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000, got {limit}")
        definition_id = None
        if definition is not None:
            definition_id = definition if isinstance(definition, str) else \
                self._app.registry.resolve(definition).definition_id
        query = ScheduleQuery(
            status=ScheduleStatus(status) if status is not None else None,
            kind=ScheduleKind(kind) if kind is not None else None,
            definition_id=definition_id, profile_id=profile_id, limit=limit, after_id=after_id)
        return await self._app.recurring.list(query)

    async def pause_recurring(self, schedule_id: str) -> bool:
        """Stop planning a schedule; its queued future jobs are withdrawn. False when it is
        unknown or not active."""
        return await self._app.recurring.pause(schedule_id)

    async def resume_recurring(self, schedule_id: str) -> bool:
        """Plan a paused schedule again from now (slots passed while paused do not run)."""
        return await self._app.recurring.resume(schedule_id)

    async def update_recurring(
        self, schedule_id: str, *, expression: Any = None, data: Any = None, **options: Any
    ) -> ScheduleInfo | None:
        """Change a dynamic schedule's ``expression``, ``data``, ``start_after``,
        ``end_before``, ``misfire``, ``allow_overlap`` or ``catch_up_limit``. Queued future
        jobs are replaced. None when the schedule is unknown."""
        changes = {k: v for k, v in {"expression": expression, "data": data}.items()
                   if v is not None}
        return await self._app.recurring.update(schedule_id, **changes, **options)

    async def cancel_recurring(self, schedule_id: str) -> bool:
        """End a schedule for good and cancel its queued future jobs (a running job finishes).
        False when it is unknown or already final."""
        return await self._app.recurring.cancel(schedule_id)


class SyncRecurringCalls:
    """Mixed into :class:`jobmaster.scheduler.SyncScheduler`."""

    _scheduler: Scheduler

    if TYPE_CHECKING:

        def _run(self, make: Callable[[], Awaitable[T]]) -> T: ...

    def recurring(self, handler: Any, expression: Any, data: Any = None,
                  **options: Any) -> ScheduleInfo:
        """See :meth:`RecurringCalls.recurring`."""
        return self._run(lambda: self._scheduler.recurring(handler, expression, data, **options))

    def get_schedule(self, schedule_id: str) -> ScheduleInfo | None:
        """See :meth:`RecurringCalls.get_schedule`."""
        return self._run(lambda: self._scheduler.get_schedule(schedule_id))

    def list_schedules(self, **filters: Any) -> list[ScheduleInfo]:
        """See :meth:`RecurringCalls.list_schedules`."""
        return self._run(lambda: self._scheduler.list_schedules(**filters))

    def pause_recurring(self, schedule_id: str) -> bool:
        """See :meth:`RecurringCalls.pause_recurring`."""
        return self._run(lambda: self._scheduler.pause_recurring(schedule_id))

    def resume_recurring(self, schedule_id: str) -> bool:
        """See :meth:`RecurringCalls.resume_recurring`."""
        return self._run(lambda: self._scheduler.resume_recurring(schedule_id))

    def update_recurring(self, schedule_id: str, **changes: Any) -> ScheduleInfo | None:
        """See :meth:`RecurringCalls.update_recurring`."""
        return self._run(lambda: self._scheduler.update_recurring(schedule_id, **changes))

    def cancel_recurring(self, schedule_id: str) -> bool:
        """See :meth:`RecurringCalls.cancel_recurring`."""
        return self._run(lambda: self._scheduler.cancel_recurring(schedule_id))
